// sb-inference-dispatch processes behind a real router: streamed chat through the bus, retry
// before the first token and never after, rejected requests, and a client's cancel reaching
// the LLM backend (a scripted server speaking the OpenAI wire format) as a closed connection.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "bus.h"
#include "dispatch.h"
#include "fake_http.h"
#include "latch.h"
#include "listener.h"
#include "openai_wire.h"
#include "sb/core/json_body.h"
#include "session_bus.h"  // packJson, freePort

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using proto::ErrorCode;

// A server that streams "Hello world" with usage, the way vLLM or OpenAI do.
void streamHello(FakeHttp::Exchange& ex) {
  ex.write(kSseHead);
  ex.write(sseChunk("Hello"));
  ex.write(sseChunk(" world", "stop"));
  ex.write(sseUsage(3, 2));
  ex.write("data: [DONE]\n\n");
}

void answer(FakeHttp::Exchange& ex, int status) {
  ex.write(errorAnswer(status, "status " + std::to_string(status)));
}

std::string chatBody(const std::string& text, int max_tokens = 8) {
  return packJson(
      {{"messages", {{{"role", "user"}, {"content", text}}}}, {"max_tokens", max_tokens}});
}

json replyOf(const CallResult& r) {
  std::string j;
  bodyToJson(r.body, j);
  return json::parse(j);
}

TEST(Inference, DemoStreamsThroughTheRouterAcrossTwoDispatchProcesses) {
  Bus bus;
  auto a = startDispatch(bus, "infer-a",
                         {"--demo-first-token-ms", "20", "--demo-tokens-per-second", "200"});
  auto b = startDispatch(bus, "infer-b",
                         {"--demo-first-token-ms", "20", "--demo-tokens-per-second", "200"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  // Concurrent streams: least-connection in the router spreads them over both processes.
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(client->send("infer", "chat", chatBody("hi " + std::to_string(i), 6), o));
  std::map<uint64_t, int> chunks;
  int replies = 0;
  auto until = SteadyClock::now() + 10s;
  while (replies < 8 && SteadyClock::now() < until) {
    auto in = client->next(100ms);
    if (!in) continue;
    ASSERT_NE(in->kind, proto::Kind::kError) << in->message;
    if (in->kind == proto::Kind::kChunk) ++chunks[in->id];
    if (in->kind == proto::Kind::kReply) {
      ++replies;
      EXPECT_EQ(chunks[in->id], 6);  // every token arrived before the end
    }
  }
  ASSERT_EQ(replies, 8);
  auto status = bus.status();
  for (const auto& w : status["workers"]) EXPECT_GT(w["dispatched"].get<int>(), 0) << w.dump();
  // The same request gives the same demo text, whichever process serves it.
  auto r1 = client->call("infer", "chat", chatBody("same"), o);
  auto r2 = client->call("infer", "chat", chatBody("same"), o);
  ASSERT_TRUE(r1.status.ok()) << r1.status.message;
  EXPECT_EQ(chatText(r1), chatText(r2));
  EXPECT_EQ(replyOf(r1)["usage"]["completion_tokens"], 8);
}

// A chat body is decoded with the worker's own limits: with --max-body raised on the router and
// the dispatch worker, a message larger than the default 4 MiB goes through.
TEST(Inference, TheWorkersMaxBodyAppliesToChatRequests) {
  const std::string eight_mib = std::to_string(8 << 20);
  Bus bus({"--max-body", eight_mib});
  auto d = startDispatch(bus, "big", {"--max-body", eight_mib});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody(std::string(5 << 20, 'x'), 2), o);
  EXPECT_TRUE(r.status.ok()) << r.status.message;
}

// Capacity is the backends' max_conns sum; --capacity may lower it, never raise it.
TEST(Inference, CapacityFollowsTheBackendsAndTheFlagOnlyLowersIt) {
  Bus bus;
  auto plain = startDispatch(bus, "plain", {"--llm-backend", "kind=demo,max_conns=6"});
  auto lowered =
      startDispatch(bus, "lowered", {"--llm-backend", "kind=demo,max_conns=6", "--capacity", "2"});
  auto raised =
      startDispatch(bus, "raised", {"--llm-backend", "kind=demo,max_conns=6", "--capacity", "50"});
  std::map<std::string, int> capacity;
  json status = bus.status();
  for (const auto& w : status["workers"])
    capacity[w["name"].get<std::string>()] = w["capacity"].get<int>();
  EXPECT_EQ(capacity["plain"], 6);
  EXPECT_EQ(capacity["lowered"], 2);
  EXPECT_EQ(capacity["raised"], 6);
}

TEST(Inference, RetriesOnAnotherBackendBeforeTheFirstTokenOnly) {
  std::atomic<int> failing_hits{0}, good_hits{0};
  FakeHttp failing([&](FakeHttp::Exchange& ex) {
    ++failing_hits;
    answer(ex, 503);
  });
  FakeHttp good([&](FakeHttp::Exchange& ex) {
    ++good_hits;
    streamHello(ex);
  });
  Bus bus;
  // The failing backend is primary, the good one a backup: the retry must go to the backup.
  auto d = startDispatch(bus, "infer",
                         {"--llm-backend", "kind=openai,url=" + failing.base() + ",name=bad",
                          "--llm-backend", "kind=openai,url=" + good.base() + ",name=good,backup"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody("hello"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(chatText(r), "Hello world");
  json reply = replyOf(r);
  EXPECT_EQ(reply["backend"], "good");
  EXPECT_EQ(reply["finish_reason"], "stop");
  EXPECT_EQ(reply["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(failing_hits, 1);
  EXPECT_EQ(good_hits, 1);
  // A backend that refuses connections is retried elsewhere just the same.
  int closed_port = freePort();  // nothing listens there: connecting is refused
  auto d2 = startDispatch(
      bus, "infer-refused",
      {"--llm-backend",
       "kind=openai,url=http://127.0.0.1:" + std::to_string(closed_port) +
           ",models=refused,name=refused",
       "--llm-backend", "kind=openai,url=" + good.base() + ",models=refused,name=good,backup"});
  o.model = "refused";
  r = client->call("infer", "chat", chatBody("hello"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(replyOf(r)["backend"], "good");
  EXPECT_EQ(good_hits, 2);
}

TEST(Inference, AStreamBrokenAfterTheFirstTokenIsNotRetried) {
  std::atomic<int> good_hits{0};
  FakeHttp breaking([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("Partial"));
  });  // then the connection drops
  FakeHttp good([&](FakeHttp::Exchange& ex) {
    ++good_hits;
    streamHello(ex);
  });
  Bus bus;
  auto d = startDispatch(bus, "infer",
                         {"--llm-backend", "kind=openai,url=" + breaking.base(), "--llm-backend",
                          "kind=openai,url=" + good.base() + ",backup"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody("hello"), o);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable);
  EXPECT_NE(r.status.message.find("7 bytes of output were delivered"), std::string::npos)
      << r.status.message;
  EXPECT_EQ(chatText(r), "Partial");  // what was delivered stays delivered, never duplicated
  EXPECT_EQ(good_hits, 0);
}

TEST(Inference, ABackendsRejectionIsInvalidArgument) {
  std::string auth;
  FakeHttp rejecting([&](FakeHttp::Exchange& ex) {
    auth = ex.headers["authorization"];
    answer(ex, 400);
  });
  Bus bus;
  // The API key comes from the environment variable the backend names, and is never logged.
  auto d = startDispatch(
      bus, "infer",
      {"--llm-backend", "kind=openai,url=" + rejecting.base() + ",api_key_env=SB_TEST_LLM_KEY"},
      {"SB_TEST_LLM_KEY=sk-test-4242"});
  auto client = bus.client();
  auto r = client->call("infer", "chat", chatBody("hello"), {});
  EXPECT_EQ(r.status.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status.message.find("status 400"), std::string::npos) << r.status.message;
  // Malformed requests never reach a backend.
  EXPECT_EQ(client->call("infer", "chat", packJson({{"messages", json::array()}}), {}).status.code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(rejecting.requests(), 1u);
  EXPECT_EQ(auth, "Bearer sk-test-4242");
  EXPECT_EQ(d.log().find("sk-test-4242"), std::string::npos) << d.log();
}

TEST(Inference, ClientCancelClosesTheBackendConnection) {
  std::atomic<int64_t> closed_at_ns{0};
  Latch handled;
  FakeHttp slow([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("first"));
    // Only a close from our side ends this wait early: the stream never ends on its own.
    if (ex.awaitClose(10s)) closed_at_ns = SteadyClock::now().time_since_epoch().count();
    handled.arrive();
  });
  Bus bus;
  auto d = startDispatch(bus, "infer", {"--llm-backend", "kind=openai,url=" + slow.base()});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  uint64_t id = client->send("infer", "chat", chatBody("hello"), o);
  std::optional<Incoming> in;
  while ((in = client->next(5s)) && in->kind != proto::Kind::kChunk) {
  }
  ASSERT_TRUE(in.has_value()) << "no first chunk";
  auto cancelled_at = SteadyClock::now();
  client->cancel(id);
  ASSERT_TRUE(handled.await(1, 15s));
  ASSERT_NE(closed_at_ns.load(), 0) << "the backend connection stayed open";
  auto took = SteadyClock::time_point(SteadyClock::duration(closed_at_ns.load())) - cancelled_at;
  std::cout << "cancel reached the backend in "
            << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us\n";
}

// Each timeout ends the request with a clear error: a backend that never sends its first
// token, and one that stops between tokens (not retried: text was delivered).
TEST(Inference, FirstTokenAndIdleTimeoutsEndTheRequest) {
  FakeHttp silent([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.awaitClose(5s);  // headers, then nothing
  });
  FakeHttp stalling([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("one"));
    ex.awaitClose(5s);  // then nothing more
  });
  Bus bus;
  auto d1 = startDispatch(bus, "infer-silent",
                          {"--llm-backend", "kind=openai,url=" + silent.base() + ",models=silent",
                           "--first-token-timeout-ms", "300", "--max-tries", "1"});
  auto d2 = startDispatch(bus, "infer-stalling",
                          {"--llm-backend", "kind=openai,url=" + stalling.base() + ",models=stall",
                           "--idle-timeout-ms", "300"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  o.model = "silent";
  auto t0 = SteadyClock::now();
  auto r = client->call("infer", "chat", chatBody("hello"), o);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable);
  EXPECT_NE(r.status.message.find("no first token within 300 ms"), std::string::npos)
      << r.status.message;
  EXPECT_LT(SteadyClock::now() - t0, 5s);  // ended by the timeout, not the deadline
  o.model = "stall";
  r = client->call("infer", "chat", chatBody("hello"), o);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable);
  EXPECT_NE(r.status.message.find("no token within 300 ms"), std::string::npos) << r.status.message;
  EXPECT_EQ(chatText(r), "one");
}

// A dispatch process killed mid-stream: the client hears an error, not silence.
TEST(Inference, ADispatchProcessKilledMidStreamEndsWithAnError) {
  Bus bus;
  auto d =
      startDispatch(bus, "infer", {"--demo-first-token-ms", "0", "--demo-tokens-per-second", "20"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 20s;
  uint64_t id = client->send("infer", "chat", chatBody("long", 1000), o);
  std::optional<Incoming> in;
  while ((in = client->next(5s)) && in->kind != proto::Kind::kChunk) {
  }
  ASSERT_TRUE(in.has_value());
  d.signal(SIGKILL);
  auto until = SteadyClock::now() + 10s;
  std::optional<Incoming> end;
  while (SteadyClock::now() < until) {
    auto m = client->next(100ms);
    if (m && m->id == id && proto::isFinal(m->kind)) {
      end = m;
      break;
    }
  }
  ASSERT_TRUE(end.has_value()) << "silence after the worker died";
  EXPECT_EQ(end->kind, proto::Kind::kError);
  EXPECT_EQ(end->code, ErrorCode::kUnavailable);
}

// Least connection across one process's backends: with two equal backends that hold their
// streams open, four concurrent requests land two on each.
TEST(Inference, LeastConnectionSpreadsStreamsOverBackends) {
  std::atomic<int> hits_a{0}, hits_b{0};
  Latch release;
  auto holding = [&](std::atomic<int>& hits) {
    return [&](FakeHttp::Exchange& ex) {
      ++hits;
      ex.write(kSseHead);
      ex.write(sseChunk("x"));
      release.await(1, 30s);
      ex.write(sseChunk("", "stop"));
      ex.write("data: [DONE]\n\n");
    };
  };
  FakeHttp a(holding(hits_a)), b(holding(hits_b));
  Bus bus;
  auto d = startDispatch(bus, "infer",
                         {"--llm-backend", "kind=openai,url=" + a.base(), "--llm-backend",
                          "kind=openai,url=" + b.base()});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  for (int i = 0; i < 4; ++i) client->send("infer", "chat", chatBody("q"), o);
  // Each stream is open once its first chunk arrived.
  int first_chunks = 0;
  std::set<uint64_t> seen;
  auto until = SteadyClock::now() + 5s;
  while (seen.size() < 4 && SteadyClock::now() < until) {
    auto m = client->next(100ms);
    if (m && m->kind == proto::Kind::kChunk) seen.insert(m->id);
  }
  first_chunks = static_cast<int>(seen.size());
  EXPECT_EQ(first_chunks, 4);
  EXPECT_EQ(hits_a, 2);
  EXPECT_EQ(hits_b, 2);
  release.arrive();
  int replies = 0;
  until = SteadyClock::now() + 5s;
  while (replies < 4 && SteadyClock::now() < until) {
    auto m = client->next(100ms);
    if (m && m->kind == proto::Kind::kReply) ++replies;
  }
  EXPECT_EQ(replies, 4);
}

// A backend that keeps failing (503) cools down: after max_fails the requests go straight to
// the backup. One that refuses requests (400) does not: the requests were at fault, so it
// stays in rotation and its refusals reach the caller. Both show in the worker's metrics.
TEST(Inference, FailingBackendsCoolDownRefusingOnesDoNot) {
  std::atomic<int> failing_hits{0}, refusing_hits{0}, backup_hits{0};
  FakeHttp failing([&](FakeHttp::Exchange& ex) {
    ++failing_hits;
    answer(ex, 503);
  });
  FakeHttp refusing([&](FakeHttp::Exchange& ex) {
    ++refusing_hits;
    answer(ex, 400);
  });
  FakeHttp backup([&](FakeHttp::Exchange& ex) {
    ++backup_hits;
    streamHello(ex);
  });
  Bus bus;
  auto d1 = startDispatch(
      bus, "infer-failing",
      {"--llm-backend", "kind=openai,url=" + failing.base() + ",models=f,name=failing",
       "--llm-backend", "kind=openai,url=" + backup.base() + ",models=f|r,name=backup,backup",
       "--llm-backend", "kind=openai,url=" + refusing.base() + ",models=r,name=refusing",
       "--max-fails", "3"});
  // Registered with the sum of its backends' max_conns (3 x 8) and the models they serve.
  json status = bus.status();
  ASSERT_EQ(status["workers"].size(), 1u);
  EXPECT_EQ(status["workers"][0]["capacity"], 24);
  EXPECT_EQ(status["workers"][0]["models"], (json{"f", "r"}));
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  o.model = "f";
  for (int i = 0; i < 6; ++i) {
    auto r = client->call("infer", "chat", chatBody("hi"), o);
    ASSERT_TRUE(r.status.ok()) << r.status.message;
    EXPECT_EQ(replyOf(r)["backend"], "backup");
  }
  EXPECT_EQ(failing_hits, 3);  // then cooled down: no more tries on it
  EXPECT_EQ(backup_hits, 6);
  o.model = "r";
  for (int i = 0; i < 5; ++i) {
    auto r = client->call("infer", "chat", chatBody("hi"), o);
    EXPECT_EQ(r.status.code, ErrorCode::kInvalidArgument) << r.status.message;
  }
  EXPECT_EQ(refusing_hits, 5);  // never cooled down
  EXPECT_EQ(backup_hits, 6);    // and never bypassed for the backup
  CallOptions m;
  m.target = "infer-failing";
  auto metrics = client->call("infer", "metrics", {}, m);
  ASSERT_TRUE(metrics.status.ok()) << metrics.status.message;
  std::string text_metrics;
  bodyToJson(metrics.body, text_metrics);
  text_metrics = json::parse(text_metrics).get<std::string>();
  EXPECT_NE(
      text_metrics.find(R"(sb_infer_backend_errors_total{backend="failing",kind="retryable"} 3)"),
      std::string::npos)
      << text_metrics;
  EXPECT_NE(
      text_metrics.find(R"(sb_infer_backend_errors_total{backend="refusing",kind="rejected"} 5)"),
      std::string::npos);
  EXPECT_NE(text_metrics.find(R"(sb_infer_backend_tokens_total{backend="backup"} 12)"),
            std::string::npos);
  EXPECT_NE(
      text_metrics.find("sb_infer_backend_time_to_first_token_seconds_count{backend=\"backup\"} 6"),
      std::string::npos);
}

// The optional active probe: a backend whose GET /v1/models fails leaves rotation even though
// it would still accept chats, and comes back once it passes again.
TEST(Inference, ABackendFailingItsProbeLeavesRotationUntilItPasses) {
  std::atomic<bool> models_ok{false};
  std::atomic<int> probes{0}, chats{0};
  FakeHttp primary([&](FakeHttp::Exchange& ex) {
    if (ex.path == "/v1/models") {
      ++probes;
      if (models_ok)
        ex.write("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":[]}");
      else
        answer(ex, 500);
      return;
    }
    ++chats;
    streamHello(ex);
  });
  FakeHttp backup([](FakeHttp::Exchange& ex) {
    if (ex.path == "/v1/models")
      ex.write("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":[]}");
    else
      streamHello(ex);
  });
  Bus bus;
  auto d = startDispatch(
      bus, "infer",
      {"--llm-backend", "kind=openai,url=" + primary.base() + ",name=primary", "--llm-backend",
       "kind=openai,url=" + backup.base() + ",name=backup,backup", "--probe-interval-ms", "100"});
  ASSERT_TRUE(waitUntil([&] { return probes >= 2; }, 5s));  // a failed probe has been seen
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody("hi"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(replyOf(r)["backend"], "backup");
  EXPECT_EQ(chats, 0);
  models_ok = true;
  int seen = probes;
  ASSERT_TRUE(waitUntil([&] { return probes >= seen + 2; }, 5s));  // it passed since
  r = client->call("infer", "chat", chatBody("hi"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(replyOf(r)["backend"], "primary");
}

// The request's deadline ends a stream that is still going: the caller hears
// DEADLINE_EXCEEDED and the backend's connection is closed (its work stops).
TEST(Inference, TheDeadlineEndsTheStreamAndTheBackendWork) {
  std::atomic<bool> closed{false}, served{false};
  FakeHttp endless([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("tick"));
    closed = ex.awaitClose(10s);  // would stream on; only a cancel ends it
    served = true;
  });
  Bus bus;
  auto d = startDispatch(bus, "infer", {"--llm-backend", "kind=openai,url=" + endless.base()});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 500ms;
  auto r = client->call("infer", "chat", chatBody("hi"), o);
  EXPECT_EQ(r.status.code, ErrorCode::kDeadlineExceeded) << r.status.message;
  EXPECT_EQ(chatText(r), "tick");
  ASSERT_TRUE(waitUntil([&] { return served.load(); }, 5s));
  EXPECT_TRUE(closed);
}

// A backend that accepts no connection (its accept queue is full, so SYNs go unanswered) ends
// in the connect timeout, not at the deadline, and counts as a connect failure.
TEST(Inference, TheConnectTimeoutEndsAnUnansweredConnect) {
  int port = 0;
  int listener = listenOnLoopback(port, 0);  // never accepted
  int filler = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // One connection fills a backlog of 0; the kernel drops the SYNs of the next ones.
  ASSERT_EQ(connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  Bus bus;
  auto d =
      startDispatch(bus, "infer",
                    {"--llm-backend", "kind=openai,url=http://127.0.0.1:" + std::to_string(port),
                     "--connect-timeout-ms", "300", "--max-tries", "1"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody("hi"), o);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable) << r.status.message;
  // libcurl's connect timeout ended it, not the 10 s deadline.
  EXPECT_NE(r.status.message.find("cannot reach the backend: Timeout was reached"),
            std::string::npos)
      << r.status.message;
  close(filler);
  close(listener);
}

}  // namespace
}  // namespace sb::test

namespace sb::test {
namespace {

// A reasoning model thinks longer than the first-token timeout before its first word: the
// reasoning is output, so the request is neither timed out nor sent again elsewhere, and
// it reaches the caller (in `choices`, with the text after it in `delta`).
TEST(Inference, ReasoningCountsAsTheFirstToken) {
  std::atomic<int> hits{0};
  FakeHttp thinker([&](FakeHttp::Exchange& ex) {
    ++hits;
    ex.write(kSseHead);
    for (int i = 0; i < 6; ++i) {
      ex.write(
          sseEvent({{"choices", {{{"index", 0}, {"delta", {{"reasoning_content", "step "}}}}}}}));
      std::this_thread::sleep_for(100ms);  // the backend's pace, 600 ms > the 300 ms timeout
    }
    ex.write(sseChunk("42", "stop"));
    ex.write("data: [DONE]\n\n");
  });
  Bus bus;
  auto d = startDispatch(bus, "infer",
                         {"--llm-backend", "kind=openai,url=" + thinker.base(), "--llm-backend",
                          "kind=openai,url=" + thinker.base() + ",name=second",
                          "--first-token-timeout-ms", "300", "--idle-timeout-ms", "5000"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 10s;
  auto r = client->call("infer", "chat", chatBody("think"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(hits, 1);
  std::string reasoning;
  for (const auto& c : r.chunks) {
    json j = unpackJsonValue(c);
    if (j.contains("choices")) reasoning += j["choices"][0]["delta"].value("reasoning_content", "");
  }
  EXPECT_EQ(reasoning, "step step step step step step ");
  EXPECT_EQ(chatText(r), "42");
}

// A backend answering 401 (a wrong key) or 404 (a model it does not serve) is the backend's
// set-up at fault: the request goes elsewhere, the backend counts failures and cools down
// like a failing one, and the log says what to check.
TEST(Inference, UnauthorisedOrModelNotFoundBackendsLeaveRotation) {
  for (int status : {401, 404}) {
    std::atomic<int> bad_hits{0};
    FakeHttp bad([&](FakeHttp::Exchange& ex) {
      ++bad_hits;
      answer(ex, status);
    });
    FakeHttp good(streamHello);
    Bus bus;
    auto d = startDispatch(
        bus, "infer",
        {"--llm-backend", "kind=openai,url=" + bad.base() + ",name=bad", "--llm-backend",
         "kind=openai,url=" + good.base() + ",name=good,backup", "--max-fails", "2"});
    auto client = bus.client();
    CallOptions o;
    o.deadline = 10s;
    for (int i = 0; i < 4; ++i) {
      auto r = client->call("infer", "chat", chatBody("hi"), o);
      ASSERT_TRUE(r.status.ok()) << status << ": " << r.status.message;
      EXPECT_EQ(replyOf(r)["backend"], "good");
    }
    EXPECT_EQ(bad_hits, 2) << status;  // then cooled down
    EXPECT_NE(d.log().find("backend bad refused chat"), std::string::npos) << d.log();
  }
}

// An API-key variable that is named but not set stops the worker at start-up, saying which.
TEST(Inference, AMissingApiKeyVariableIsAStartUpError) {
  auto p = Process::start("sb-inference-dispatch",
                          {"--router", "tcp://127.0.0.1:1", "--llm-backend",
                           "kind=openai,url=http://127.0.0.1:1,api_key_env=SB_TEST_UNSET_KEY"},
                          {}, false);
  EXPECT_EQ(p.awaitExit(10s), 2);
  EXPECT_NE(p.log().find("$SB_TEST_UNSET_KEY is not set"), std::string::npos) << p.log();
}

// One access-log line per request, with the backend, model, status and token counts.
TEST(Inference, EachRequestHasAnAccessLogLine) {
  FakeHttp good(streamHello);
  Bus bus;
  auto d = startDispatch(bus, "infer",
                         {"--llm-backend", "kind=openai,url=" + good.base() + ",name=good"});
  auto client = bus.client();
  CallOptions o;
  o.model = "llama";
  ASSERT_TRUE(client->call("infer", "chat", chatBody("secret words"), o).status.ok());
  std::string log = d.log();
  EXPECT_NE(log.find("access op=chat"), std::string::npos) << log;
  EXPECT_NE(log.find("model=llama backend=good status=stop prompt_tokens=3 completion_tokens=2"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("secret words"), std::string::npos);
}

}  // namespace
}  // namespace sb::test
