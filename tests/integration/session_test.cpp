// The session service over one real redis-server.
#include <gtest/gtest.h>

#include <signal.h>

#include <set>
#include <thread>

#include "session_bus.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using proto::ErrorCode;

class SessionTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    sb_ = std::make_unique<SessionBus>(std::vector<std::string>{"--redis", redis_.url()}, extra);
  }
  SessionReply call(const std::string& op, const json& body) { return sb_->call(op, body); }

  RedisServer redis_;
  std::unique_ptr<SessionBus> sb_;
};

TEST_F(SessionTest, CreateAppendGetRoundTrip) {
  start();
  auto c = call("create", {{"id", "s1"},
                           {"user", "alice"},
                           {"metadata", {{"title", "t"}}},
                           {"settings", {{"model", "m1"}}}});
  ASSERT_TRUE(c.status.ok()) << c.status.message;
  EXPECT_EQ(c.body["version"], 0);
  auto a = call(
      "append",
      {{"id", "s1"},
       {"messages",
        {{{"role", "user"}, {"content", "hello"}}, {{"role", "assistant"}, {"content", "hi"}}}}});
  ASSERT_TRUE(a.status.ok()) << a.status.message;
  EXPECT_EQ(a.body["version"], 1);
  EXPECT_EQ(a.body["length"], 2);
  auto g = call("get", {{"id", "s1"}});
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.body["user"], "alice");
  EXPECT_EQ(g.body["metadata"]["title"], "t");
  EXPECT_EQ(g.body["settings"]["model"], "m1");
  EXPECT_EQ(g.body["version"], 1);
  ASSERT_EQ(g.body["messages"].size(), 2u);
  EXPECT_EQ(g.body["messages"][1]["content"], "hi");
  // The keys share one hash tag, so one slot.
  EXPECT_EQ(redis_.command({"EXISTS", "sb:session:{s1}:meta", "sb:session:{s1}:msgs"}), "2");
  // A generated id when none is given; a second create of the same id is refused.
  auto gen = call("create", json::object());
  ASSERT_TRUE(gen.status.ok()) << gen.status.message;
  EXPECT_EQ(gen.body["id"].get<std::string>().size(), 32u);
  EXPECT_EQ(call("create", {{"id", "s1"}}).status.code, ErrorCode::kFailedPrecondition);
  // Ranges.
  auto last1 = call("get", {{"id", "s1"}, {"last", 1}});
  ASSERT_EQ(last1.body["messages"].size(), 1u);
  EXPECT_EQ(last1.body["messages"][0]["content"], "hi");
  auto first1 = call("get", {{"id", "s1"}, {"start", 0}, {"stop", 0}});
  EXPECT_EQ(first1.body["messages"][0]["content"], "hello");
  EXPECT_EQ(call("get", {{"id", "s1"}, {"last", 0}}).body["messages"].size(), 0u);
}

TEST_F(SessionTest, ConcurrentAppendsLoseNothingDuplicateNothingAndKeepPerClientOrder) {
  start();
  ASSERT_TRUE(call("create", {{"id", "busy"}}).status.ok());
  const int clients = 8, per_client = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client client(sb_->bus().context(), sb_->bus().frontend());
      for (int i = 0; i < per_client; ++i) {
        auto r = sb_->call(
            client, "append",
            {{"id", "busy"},
             {"messages",
              {{{"role", "user"}, {"content", std::to_string(c) + ":" + std::to_string(i)}}}}});
        if (!r.status.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto g = call("get", {{"id", "busy"}, {"last", 1000}});
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.body["length"], clients * per_client);
  EXPECT_EQ(g.body["version"], clients * per_client);
  std::set<std::string> seen;
  std::vector<int> next(clients, 0);
  for (const auto& m : g.body["messages"]) {
    std::string content = m["content"];
    EXPECT_TRUE(seen.insert(content).second) << "duplicate " << content;
    int c = std::stoi(content.substr(0, content.find(':')));
    int i = std::stoi(content.substr(content.find(':') + 1));
    EXPECT_EQ(i, next[c]) << "client " << c << " out of order";
    next[c] = i + 1;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(clients * per_client));
}

TEST_F(SessionTest, ExpectedVersionConflictIsFailedPrecondition) {
  start();
  ASSERT_TRUE(call("create", {{"id", "v"}}).status.ok());
  auto ok = call("update", {{"id", "v"}, {"settings", {{"temp", 0.5}}}, {"expected_version", 0}});
  ASSERT_TRUE(ok.status.ok()) << ok.status.message;
  EXPECT_EQ(ok.body["version"], 1);
  auto stale =
      call("update", {{"id", "v"}, {"settings", {{"temp", 0.9}}}, {"expected_version", 0}});
  EXPECT_EQ(stale.status.code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(stale.status.message.find("version 1"), std::string::npos) << stale.status.message;
  auto stale_append = call(
      "append",
      {{"id", "v"}, {"expected_version", 0}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(stale_append.status.code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(call("get", {{"id", "v"}}).body["settings"]["temp"], 0.5);
}

TEST_F(SessionTest, OperationIdsMakeRetriesIdempotent) {
  start();
  ASSERT_TRUE(call("create", {{"id", "idem"}}).status.ok());
  json body{{"id", "idem"},
            {"op_id", "retry-1"},
            {"messages", {{{"role", "user"}, {"content", "once"}}}}};
  auto first = call("append", body);
  auto again = call("append", body);
  ASSERT_TRUE(first.status.ok() && again.status.ok());
  EXPECT_EQ(first.body, again.body);
  EXPECT_EQ(call("get", {{"id", "idem"}}).body["length"], 1);
}

TEST_F(SessionTest, TtlExpiresIdleSessionsAndTouchRefreshesIt) {
  start();
  ASSERT_TRUE(call("create", {{"id", "t"}, {"ttl", 100}}).status.ok());
  ASSERT_TRUE(call("append", {{"id", "t"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}})
                  .status.ok());
  // Shorten the TTL behind the service's back, then touch: back to the session's 100 s.
  redis_.command({"EXPIRE", "sb:session:{t}:meta", "5"});
  redis_.command({"EXPIRE", "sb:session:{t}:msgs", "5"});
  auto touched = call("touch", {{"id", "t"}});
  ASSERT_TRUE(touched.status.ok());
  EXPECT_EQ(touched.body["ttl"], 100);
  EXPECT_GT(std::stoi(redis_.command({"TTL", "sb:session:{t}:meta"})), 90);
  EXPECT_GT(std::stoi(redis_.command({"TTL", "sb:session:{t}:msgs"})), 90);
  // A get is an access too.
  redis_.command({"EXPIRE", "sb:session:{t}:meta", "5"});
  ASSERT_TRUE(call("get", {{"id", "t"}}).status.ok());
  EXPECT_GT(std::stoi(redis_.command({"TTL", "sb:session:{t}:meta"})), 90);
  // With the TTL freshly set, gets stay pure reads: no script (no write) runs for them.
  auto scriptCalls = [&] {
    std::string stats = redis_.command({"INFO", "commandstats"});
    int calls = 0;
    for (std::string cmd : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
      auto pos = stats.find(cmd);
      if (pos != std::string::npos) calls += std::stoi(stats.substr(pos + cmd.size()));
    }
    return calls;
  };
  int before = scriptCalls();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call("get", {{"id", "t"}}).status.ok());
  EXPECT_EQ(scriptCalls(), before);
  // A session left alone expires.
  ASSERT_TRUE(call("create", {{"id", "short"}, {"ttl", 1}, {"user", "bob"}}).status.ok());
  // (Watched through Redis: a get would itself refresh the TTL.)
  EXPECT_TRUE(waitUntil(
      [&] {
        return redis_.command({"EXISTS", "sb:session:{short}:meta"}) == "0";
      },
      5s));
  EXPECT_EQ(call("get", {{"id", "short"}}).status.code, ErrorCode::kNotFound);
  EXPECT_EQ(call("list", {{"user", "bob"}}).body["sessions"].size(), 0u);
  EXPECT_EQ(call("touch", {{"id", "short"}}).status.code, ErrorCode::kNotFound);
}

// Scripts go by EVALSHA once loaded; a Redis that lost its script cache (restart, SCRIPT
// FLUSH, a failover to a node that never saw them) answers NOSCRIPT, and the service resends
// the body with EVAL instead of failing the request.
TEST_F(SessionTest, LostScriptCacheFallsBackToEval) {
  start();
  ASSERT_TRUE(call("create", {{"id", "ns"}}).status.ok());
  // Wait until the scripts are loaded (EVALSHA in use): SCRIPT LOAD runs at start.
  ASSERT_TRUE(waitUntil(
      [&] {
        return call("append", {{"id", "ns"}, {"messages", {{{"role", "user"}}}}}).status.ok() &&
               redis_.command({"INFO", "commandstats"}).find("cmdstat_evalsha:") !=
                   std::string::npos;
      },
      5s));
  ASSERT_EQ(redis_.command({"SCRIPT", "FLUSH"}), "OK");
  auto a = call("append", {{"id", "ns"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ASSERT_TRUE(a.status.ok()) << a.status.message;
  EXPECT_GE(call("status", json::object()).body["counters"]["noscript"].get<int>(), 1);
  EXPECT_EQ(call("get", {{"id", "ns"}, {"last", 1}}).body["messages"][0]["content"], "x");
}

TEST_F(SessionTest, KeyPrefixIsConfigurable) {
  start({"--key-prefix", "chat:"});
  ASSERT_TRUE(call("create", {{"id", "p"}, {"user", "u"}}).status.ok());
  ASSERT_TRUE(call("append", {{"id", "p"}, {"messages", {{{"role", "user"}}}}}).status.ok());
  EXPECT_EQ(redis_.command({"EXISTS", "chat:{p}:meta", "chat:{p}:msgs", "chat:user:{u}"}), "3");
  EXPECT_EQ(redis_.command({"KEYS", "sb:session:*"}), "");
  EXPECT_EQ(call("get", {{"id", "p"}}).body["length"], 1);
}

TEST_F(SessionTest, HistoryIsCappedByCountAndBytes) {
  start({"--max-messages", "5", "--max-history-bytes", "400", "--max-message-bytes", "300"});
  ASSERT_TRUE(call("create", {{"id", "cap"}}).status.ok());
  for (int i = 0; i < 8; ++i) {
    auto r = call("append", {{"id", "cap"},
                             {"messages", {{{"role", "user"}, {"content", std::to_string(i)}}}}});
    ASSERT_TRUE(r.status.ok());
    EXPECT_LE(r.body["length"].get<int>(), 5);
  }
  auto g = call("get", {{"id", "cap"}, {"last", 100}});
  ASSERT_EQ(g.body["messages"].size(), 5u);
  EXPECT_EQ(g.body["messages"][0]["content"], "3");  // the oldest went first
  EXPECT_EQ(g.body["messages"][4]["content"], "7");
  // Bytes: two messages of ~260 bytes do not fit in 400.
  std::string big(250, 'x');
  call("append", {{"id", "cap"}, {"messages", {{{"role", "user"}, {"content", big}}}}});
  auto r = call("append", {{"id", "cap"}, {"messages", {{{"role", "user"}, {"content", big}}}}});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.body["length"], 1);
  EXPECT_GE(r.body["dropped"].get<int>(), 1);
}

TEST_F(SessionTest, BadRequestsGetInvalidArgument) {
  start({"--max-message-bytes", "1000"});
  ASSERT_TRUE(call("create", {{"id", "ok"}}).status.ok());
  std::vector<std::pair<std::string, json>> bad{
      {"get", json::array({1, 2})},
      {"get", {{"nope", 1}}},
      {"get", {{"id", "has{brace}"}}},
      {"get", {{"id", std::string(257, 'a')}}},
      {"get", {{"id", 42}}},
      {"get", {{"id", "ok"}, {"last", -1}}},
      {"get", {{"id", "ok"}, {"last", 5}, {"start", 0}}},
      {"create", {{"ttl", 0}}},
      {"create", {{"id", "x"}, {"ttl", "long"}}},
      {"append", {{"id", "ok"}}},
      {"append", {{"id", "ok"}, {"messages", json::array()}}},
      {"append", {{"id", "ok"}, {"messages", {"just a string"}}}},
      {"append", {{"id", "ok"}, {"messages", {{{"content", "no role"}}}}}},
      {"append",
       {{"id", "ok"}, {"messages", {{{"role", "user"}, {"content", std::string(2000, 'x')}}}}}},
      {"update", {{"id", "ok"}}},
      {"list", {}},
  };
  for (const auto& [op, body] : bad) {
    auto r = call(op, body);
    EXPECT_EQ(r.status.code, ErrorCode::kInvalidArgument)
        << op << " " << body.dump() << ": " << r.status.message;
    EXPECT_FALSE(r.status.message.empty());
  }
  // Not msgpack at all.
  Client raw(sb_->bus().context(), sb_->bus().frontend());
  auto r = raw.call("session", "session.get", "\xc1\xc1");
  EXPECT_EQ(r.status.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(call("get", {{"id", "ok"}}).body["length"], 0);  // nothing was written
}

TEST_F(SessionTest, ListAndDelete) {
  start();
  for (const char* id : {"a1", "a2", "a3"})
    ASSERT_TRUE(call("create", {{"id", id}, {"user", "ann"}}).status.ok());
  auto l = call("list", {{"user", "ann"}});
  ASSERT_TRUE(l.status.ok());
  EXPECT_EQ(l.body["sessions"].size(), 3u);
  EXPECT_EQ(call("delete", {{"id", "a2"}}).body["deleted"], true);
  EXPECT_EQ(call("delete", {{"id", "a2"}}).body["deleted"], false);
  EXPECT_EQ(call("get", {{"id", "a2"}}).status.code, ErrorCode::kNotFound);
  EXPECT_EQ(call("list", {{"user", "ann"}}).body["sessions"].size(), 2u);
}

TEST(SessionRedisAuth, PasswordFromTheUrlOrTheFlagIsUsedAndAWrongOneFails) {
  RedisServer redis({"--requirepass", "s3cret"});
  std::string url = "redis://127.0.0.1:" + std::to_string(redis.port());
  SessionBus from_url({"--redis", "redis://:s3cret@127.0.0.1:" + std::to_string(redis.port())});
  EXPECT_TRUE(from_url.call("create", {{"id", "pw1"}}).status.ok());
  SessionBus from_flag({"--redis", url, "--redis-password", "s3cret"});
  EXPECT_TRUE(from_flag.call("get", {{"id", "pw1"}}).status.ok());
  SessionBus wrong({"--redis", url, "--redis-password", "nope"});
  auto r = wrong.call("get", {{"id", "pw1"}});
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(wrong.call("status", json::object()).body["ready"], false);
}

// An ACL user (Redis 6+), from the URL (percent-encoded) or from the flags; the default user
// is switched off, so nothing works without it.
TEST(SessionRedisAuth, AnAclUserFromTheUrlOrTheFlags) {
  RedisServer redis(
      {"--user", "default", "off", "--user", "sess", "on", ">p@ss", "~*", "&*", "+@all"});
  std::string host = "127.0.0.1:" + std::to_string(redis.port());
  SessionBus from_url({"--redis", "redis://sess:p%40ss@" + host});
  auto made = from_url.call("create", {{"id", "acl1"}});
  EXPECT_TRUE(made.status.ok()) << made.status.message;
  SessionBus from_flags(
      {"--redis", "redis://" + host, "--redis-user", "sess", "--redis-password", "p@ss"});
  EXPECT_TRUE(from_flags.call("get", {{"id", "acl1"}}).status.ok());
  SessionBus nobody({"--redis", "redis://" + host});
  EXPECT_FALSE(nobody.call("get", {{"id", "acl1"}}).status.ok());
}

// IPv6: the URL's host in brackets; the session service's connections come from ::1.
TEST(SessionRedisIpv6, AnIpv6AddressInBracketsWorks) {
  RedisServer redis({"--bind", "127.0.0.1", "::1"});
  SessionBus sb({"--redis", "redis://[::1]:" + std::to_string(redis.port())});
  auto made = sb.call("create", {{"id", "v6"}});
  ASSERT_TRUE(made.status.ok()) << made.status.message;
  EXPECT_EQ(redis.command({"EXISTS", "sb:session:{v6}:meta"}), "1");
  std::string clients = redis.command({"CLIENT", "LIST"});
  EXPECT_NE(clients.find("addr=[::1]:"), std::string::npos) << clients;
}

// A Redis that accepts the connection but never answers (SIGSTOP) must not hang requests:
// the command timeout drops the connection and the request ends with UNAVAILABLE.
TEST(SessionRedisHung, CommandTimeoutEndsRequestsAndServiceRecovers) {
  RedisServer redis;
  SessionBus sb({"--redis", redis.url(), "--redis-timeout-ms", "300"});
  ASSERT_TRUE(sb.call("create", {{"id", "h"}}).status.ok());
  redis.signal(SIGSTOP);
  auto r = sb.call("get", {{"id", "h"}}, 10000ms);
  redis.signal(SIGCONT);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable) << r.status.message;
  // Ended by the command timeout (the connection dropped), not by the 10 s deadline.
  EXPECT_NE(r.status.message.find("no reply in time"), std::string::npos) << r.status.message;
  EXPECT_TRUE(waitUntil([&] { return sb.call("get", {{"id", "h"}}).status.ok(); }, 5s));
}

// Stopping at once (a second SIGTERM) while requests still wait on Redis: the process exits
// with 1 and nothing else. Its slot client used to run the waiting callbacks from its
// destructor, into the handlers and store destroyed before it; under ASan that is a report and
// an abort instead of exit code 1.
TEST(SessionShutdown, StoppingAtOnceWithRequestsWaitingOnRedisIsClean) {
  RedisServer redis;
  SessionBus sb({"--redis", redis.url(), "--redis-timeout-ms", "60000"});
  ASSERT_TRUE(sb.call("create", {{"id", "w"}}).status.ok());
  redis.signal(SIGSTOP);
  Client client(sb.bus().context(), sb.bus().frontend());
  CallOptions o;
  o.deadline = 30s;
  for (int i = 0; i < 5; ++i) client.send("session", "session.get", packJson({{"id", "w"}}), o);
  nlohmann::json st;
  ASSERT_TRUE(waitUntil(
      [&] {
        st = sb.bus().status();
        return !st["services"].empty() && st["services"][0]["inflight"] == 5;
      },
      10s))
      << st.dump();
  Process& session = sb.session();
  session.signal(SIGTERM);  // drains: the five are still running...
  // (Two signals sent at once would merge into one: the second goes once the first is seen.)
  ASSERT_TRUE(waitUntil(
      [&] {
        st = sb.bus().status();
        return !st["workers"].empty() && st["workers"][0]["draining"] == true;
      },
      10s));
  session.signal(SIGTERM);  // ...so the second one stops at once
  auto code = session.awaitExit(10s);
  redis.signal(SIGCONT);
  ASSERT_TRUE(code.has_value()) << session.log();
  EXPECT_EQ(*code, 1) << session.log();
}

TEST(SessionRedisDown, StartsAnswersUnavailableAndRecoversWhenRedisComesBack) {
  int port = freePort();
  SessionBus sb({"--redis", "redis://127.0.0.1:" + std::to_string(port)});
  auto r = sb.call("get", {{"id", "x"}}, 5000ms);
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable) << r.status.message;
  // Said once connecting failed, not at the deadline.
  EXPECT_NE(r.status.message.find("could not connect"), std::string::npos) << r.status.message;
  Client status_client(sb.bus().context(), sb.bus().frontend());
  auto st = sb.call("status", json::object());
  ASSERT_TRUE(st.status.ok());
  EXPECT_EQ(st.body["ready"], false);
  RedisServer redis({}, port);
  EXPECT_TRUE(
      waitUntil([&] { return sb.call("status", json::object()).body["ready"] == true; }, 10s));
  EXPECT_TRUE(sb.call("create", {{"id", "back"}}).status.ok());
  EXPECT_TRUE(sb.call("get", {{"id", "back"}}).status.ok());
}

}  // namespace
}  // namespace sb::test
