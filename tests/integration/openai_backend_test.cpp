// The OpenAI-compatible backend against a scripted server speaking the real wire format
// (POST /v1/chat/completions, SSE chunks, usage, [DONE], OpenAI error bodies).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "fake_http.h"
#include "openai_backend.h"
#include "openai_wire.h"
#include "redis.h"

namespace sb::inference {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::errorAnswer;
using test::FakeHttp;
using test::kSseChunkedHead;
using test::kSseHead;
using test::sseChunk;

struct Streamed {
  std::string text;
  ChatOutcome outcome;
  bool ended = false;
};

// Streams one request through the backend and runs the loop until it ends (or 10 s).
Streamed stream(const std::string& base, ChatRequest req = {"m", {{"messages", json::array()}}}) {
  EventLoop loop;
  http::HttpClient http(loop);
  OpenAiBackend backend(loop, http, {base, "secret", 2000ms});
  Streamed run;
  backend.start(req, {[&](const ChatDelta& d) { run.text.append(d.text); },
                      [&](const ChatOutcome& o) {
                        run.outcome = o;
                        run.ended = true;
                      }});
  auto until = SteadyClock::now() + 10s;
  while (!run.ended && SteadyClock::now() < until) loop.runOnce(20ms);
  return run;
}

TEST(OpenAiBackend, StreamsDeltasFinishReasonAndUsage) {
  json seen;
  std::string auth;
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    seen = json::parse(ex.body, nullptr, false);
    auth = ex.headers["authorization"];
    ex.write(kSseHead);
    ex.write(sseChunk("Hel"));
    ex.write(": keep-alive\n\n");
    ex.write(sseChunk("lo"));
    ex.write(sseChunk("", "length"));
    ex.write(test::sseUsage(9, 2));
    ex.write("data: [DONE]\n\n");
  });
  ChatRequest req{"llama",
                  {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                   {"temperature", 0.5},
                   {"max_tokens", 2}}};
  Streamed r = stream(server.base(), req);
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(r.outcome.failure, ChatFailure::kNone) << r.outcome.message;
  EXPECT_EQ(r.text, "Hello");
  EXPECT_EQ(r.outcome.finish_reason, "length");
  EXPECT_EQ(r.outcome.usage.prompt_tokens, 9);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 2);
  EXPECT_EQ(r.outcome.delivered, 5u);
  // The request as an OpenAI server expects it, the caller's parameters passed through.
  EXPECT_EQ(seen["model"], "llama");
  EXPECT_EQ(seen["stream"], true);
  EXPECT_EQ(seen["stream_options"]["include_usage"], true);
  EXPECT_EQ(seen["messages"][0]["content"], "hi");
  EXPECT_EQ(seen["temperature"], 0.5);
  EXPECT_EQ(auth, "Bearer secret");
}

TEST(OpenAiBackend, ErrorStatusesAreClassifiedWithTheBackendsMessage) {
  struct Case {
    int status;
    ChatFailure failure;
  };
  for (Case c : {Case{400, ChatFailure::kRejected}, Case{422, ChatFailure::kRejected},
                 Case{401, ChatFailure::kRefused}, Case{403, ChatFailure::kRefused},
                 Case{404, ChatFailure::kRefused}, Case{408, ChatFailure::kRetryable},
                 Case{429, ChatFailure::kRetryable}, Case{500, ChatFailure::kRetryable},
                 Case{503, ChatFailure::kRetryable}}) {
    FakeHttp server([&](FakeHttp::Exchange& ex) { ex.write(errorAnswer(c.status, "nope")); });
    Streamed r = stream(server.base());
    ASSERT_TRUE(r.ended) << c.status;
    EXPECT_EQ(r.outcome.failure, c.failure) << c.status;
    EXPECT_EQ(r.outcome.http_status, c.status);
    EXPECT_NE(r.outcome.message.find("nope"), std::string::npos) << r.outcome.message;
    EXPECT_EQ(r.outcome.delivered, 0u);
  }
}

TEST(OpenAiBackend, UnreachableBackendIsAConnectFailure) {
  int port = test::freePort();  // nothing listens there: connecting is refused
  Streamed r = stream("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(r.outcome.failure, ChatFailure::kConnect);
  EXPECT_FALSE(r.outcome.message.empty());
}

TEST(OpenAiBackend, AStreamThatStopsHalfwaySaysHowMuchWasDelivered) {
  FakeHttp server([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("partial "));
    ex.write(sseChunk("text"));
  });  // closes without finish_reason or [DONE]
  Streamed r = stream(server.base());
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(r.outcome.failure, ChatFailure::kBroken);
  EXPECT_EQ(r.text, "partial text");
  EXPECT_EQ(r.outcome.delivered, 12u);
}

TEST(OpenAiBackend, GarbageInTheStreamEndsItWithoutCrashing) {
  for (std::string bad : {"data: {not json\n\n", "data: [1,2]\n\n",
                          "data: {\"error\":{\"message\":\"overloaded\"}}\n\n"}) {
    FakeHttp server([&](FakeHttp::Exchange& ex) {
      ex.write(kSseHead);
      ex.write(bad);
    });
    Streamed r = stream(server.base());
    ASSERT_TRUE(r.ended) << bad;
    EXPECT_EQ(r.outcome.failure, ChatFailure::kRetryable) << bad;  // nothing delivered yet
    EXPECT_FALSE(r.outcome.message.empty());
  }
}

TEST(OpenAiBackend, CancelFromADeltaClosesTheBackendConnection) {
  std::atomic<bool> closed{false};
  std::atomic<bool> served{false};
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("first"));
    closed = ex.awaitClose(5s);
    served = true;
  });
  EventLoop loop;
  http::HttpClient http(loop);
  OpenAiBackend backend(loop, http, {server.base(), "", 2000ms});
  bool ended = false;
  ChatBackend::StreamId id = 0;
  id = backend.start({"m", json::object()}, {[&](const ChatDelta&) { backend.cancel(id); },
                                             [&](const ChatOutcome&) { ended = true; }});
  auto until = SteadyClock::now() + 10s;
  while (!served && SteadyClock::now() < until) loop.runOnce(20ms);
  loop.runOnce(0ms);
  EXPECT_TRUE(closed);
  EXPECT_FALSE(ended);  // a cancelled stream does not call back
  EXPECT_EQ(http.active(), 0u);
}

// A server that reports no usage: completion tokens are counted from the text chunks, and say so.
TEST(OpenAiBackend, UsageIsCountedWhenTheBackendReportsNone) {
  FakeHttp server([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk("a"));
    ex.write(sseChunk("b"));
    ex.write(sseChunk("c", "stop"));
    ex.write("data: [DONE]\n\n");
  });
  Streamed r = stream(server.base());
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(r.outcome.failure, ChatFailure::kNone);
  EXPECT_EQ(r.outcome.usage.completion_tokens, 3);
  EXPECT_TRUE(r.outcome.usage.counted);
  EXPECT_EQ(r.outcome.usage.prompt_tokens, -1);
}

// A request that names no model gets the backend's default one, or none at all.
TEST(OpenAiBackend, AnUnnamedModelIsTheBackendsDefault) {
  for (std::string fallback : {"llama3", ""}) {
    json seen;
    FakeHttp server([&](FakeHttp::Exchange& ex) {
      seen = json::parse(ex.body, nullptr, false);
      ex.write(kSseHead);
      ex.write(sseChunk("x", "stop"));
      ex.write("data: [DONE]\n\n");
    });
    EventLoop loop;
    http::HttpClient http(loop);
    OpenAiOptions o;
    o.base_url = server.base();
    o.default_model = fallback;
    OpenAiBackend backend(loop, http, o);
    bool ended = false;
    backend.start({"", {{"messages", json::array()}}},
                  {nullptr, [&](const ChatOutcome&) { ended = true; }});
    auto until = SteadyClock::now() + 10s;
    while (!ended && SteadyClock::now() < until) loop.runOnce(20ms);
    ASSERT_TRUE(ended);
    if (fallback.empty())
      EXPECT_FALSE(seen.contains("model")) << seen.dump();
    else
      EXPECT_EQ(seen["model"], fallback);
  }
}

// Finished answers leave their connection open for the next request (keep-alive): the
// transfer reads to the chunked terminator after [DONE] instead of being cut there. The base
// URL may end in /v1 (as OpenAI's own does) without doubling it.
TEST(OpenAiBackend, ConnectionsAreReusedAndABaseUrlMayEndInV1) {
  std::vector<std::string> paths;
  std::mutex mu;
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    {
      std::lock_guard lock(mu);
      paths.push_back(ex.path);
    }
    ex.keep_alive = true;
    ex.write(kSseChunkedHead);
    ex.write(test::chunked(sseChunk("ok", "stop")));
    ex.write(test::chunked("data: [DONE]\n\n"));
    ex.write(test::chunked(""));
  });
  EventLoop loop;
  http::HttpClient http(loop);
  OpenAiBackend backend(loop, http, {server.base() + "/v1/", "", 2000ms});
  for (int i = 0; i < 5; ++i) {
    bool ended = false;
    ChatOutcome out;
    backend.start({"m", {{"messages", json::array()}}}, {nullptr, [&](const ChatOutcome& o) {
                                                           out = o;
                                                           ended = true;
                                                         }});
    auto until = SteadyClock::now() + 10s;
    while (!ended && SteadyClock::now() < until) loop.runOnce(20ms);
    ASSERT_TRUE(ended);
    EXPECT_EQ(out.failure, ChatFailure::kNone) << out.message;
    // The rest of the response (the terminator) is read before the next request goes out.
    until = SteadyClock::now() + 10s;
    while (http.active() > 0 && SteadyClock::now() < until) loop.runOnce(20ms);
  }
  EXPECT_EQ(server.requests(), 5u);
  EXPECT_EQ(server.connections(), 1u);
  std::lock_guard lock(mu);
  for (const auto& p : paths) EXPECT_EQ(p, "/v1/chat/completions");
}

// What OpenAI streams besides text reaches the caller whole: tool calls (arguments in
// pieces), reasoning, several choices with their index, logprobs, the fingerprint and the
// backend's usage with its details.
TEST(OpenAiBackend, RichChunksArriveWithEveryChoice) {
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(
        test::sseEvent({{"choices", {{{"index", 0}, {"delta", {{"reasoning_content", "Hmm"}}}}}}}));
    json call0 = {{"index", 0},
                  {"id", "call_1"},
                  {"type", "function"},
                  {"function", {{"name", "weather"}, {"arguments", "{\"ci"}}}};
    json call1 = {{"index", 0}, {"function", {{"arguments", "ty\":\"Oslo\"}"}}}};
    ex.write(test::sseEvent({{"choices", {{{"index", 0}, {"delta", {{"tool_calls", {call0}}}}}}}}));
    ex.write(test::sseEvent({{"choices", {{{"index", 0}, {"delta", {{"tool_calls", {call1}}}}}}}}));
    ex.write(
        test::sseEvent({{"system_fingerprint", "fp_1"},
                        {"choices",
                         {{{"index", 1},
                           {"delta", {{"content", "B"}}},
                           {"logprobs", {{"content", {{{"token", "B"}, {"logprob", -0.5}}}}}}}}}}));
    ex.write(test::sseEvent(
        {{"choices",
          {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "tool_calls"}},
           {{"index", 1}, {"delta", json::object()}, {"finish_reason", "stop"}}}}}));
    ex.write(test::sseEvent({{"choices", json::array()},
                             {"usage",
                              {{"prompt_tokens", 7},
                               {"completion_tokens", 4},
                               {"total_tokens", 11},
                               {"prompt_tokens_details", {{"cached_tokens", 5}}}}}}));
    ex.write("data: [DONE]\n\n");
  });
  EventLoop loop;
  http::HttpClient http(loop);
  OpenAiBackend backend(loop, http, {server.base(), "", 2000ms});
  std::vector<json> chunks;
  std::vector<size_t> output;
  ChatOutcome out;
  bool ended = false;
  backend.start({"m", {{"messages", json::array()}, {"n", 2}}},
                {[&](const ChatDelta& d) {
                   ASSERT_NE(d.choices, nullptr);  // none of these is plain text
                   chunks.push_back(*d.choices);
                   output.push_back(d.output_bytes);
                 },
                 [&](const ChatOutcome& o) {
                   out = o;
                   ended = true;
                 }});
  auto until = SteadyClock::now() + 10s;
  while (!ended && SteadyClock::now() < until) loop.runOnce(20ms);
  ASSERT_TRUE(ended);
  ASSERT_EQ(out.failure, ChatFailure::kNone) << out.message;
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks[0][0]["delta"]["reasoning_content"], "Hmm");
  EXPECT_EQ(output[0], 3u);  // reasoning is output (it starts the first-token clock)
  std::string args =
      chunks[1][0]["delta"]["tool_calls"][0]["function"]["arguments"].get<std::string>() +
      chunks[2][0]["delta"]["tool_calls"][0]["function"]["arguments"].get<std::string>();
  EXPECT_EQ(json::parse(args), json({{"city", "Oslo"}}));
  EXPECT_EQ(chunks[1][0]["delta"]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(chunks[3][0]["index"], 1);
  EXPECT_EQ(chunks[3][0]["logprobs"]["content"][0]["token"], "B");
  EXPECT_EQ(chunks[4][1]["finish_reason"], "stop");
  EXPECT_EQ(output[4], 0u);  // finish reasons only
  EXPECT_EQ(out.finish_reason, "tool_calls");
  EXPECT_EQ(out.fingerprint, "fp_1");
  EXPECT_EQ(out.usage.prompt_tokens, 7);
  EXPECT_EQ(out.usage.reported["prompt_tokens_details"]["cached_tokens"], 5);
  EXPECT_FALSE(out.usage.counted);
}

}  // namespace
}  // namespace sb::inference
