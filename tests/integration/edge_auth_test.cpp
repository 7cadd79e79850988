// API keys and per-key limits at sb-edge with the official OpenAI Node SDK as the client
// (node/edge_auth.cjs holds the SDK's side of each check). A real suite: sb-router, an
// inference worker (demo backend serving "demo" and "other"), two edges sharing one
// redis-server for limits, and keys made with `sbctl key create`.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "dispatch.h"
#include "http_get.h"
#include "redis.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

class EdgeAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir();
    key_file_ =
        dir_ + "/keys-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    infer_ = startDispatch(bus_, "infer",
                           {"--llm-backend", "kind=demo,models=demo|other,max_conns=64",
                            "--demo-first-token-ms", "1", "--demo-tokens-per-second", "2000"});
    makeKey("open", {});
    makeKey("revoked", {});
    makeKey("model", {"--model", "other"});
    makeKey("rpm", {"--rpm", "30"});
    makeKey("shared", {"--rpm", "4"});
    makeKey("tokens", {"--tpm", "20"});
    makeKey("conc", {"--concurrent", "1"});
    makeKey("ann@example.org", {});
    admin_a_ = freePort();
    a_ = startEdge({"--admin-http", "127.0.0.1:" + std::to_string(admin_a_)}, port_a_);
    b_ = startEdge({"--rate-limit-on-error", "refuse", "--admin-http",
                    "127.0.0.1:" + std::to_string(admin_b_ = freePort())},
                   port_b_);
  }

  // `sbctl key create NAME --api-keys FILE ARGS`: the key it printed.
  void makeKey(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), {"key", "create", name, "--api-keys", key_file_});
    Process p = Process::start("sbctl", args, {}, false);
    ASSERT_EQ(p.awaitExit(30s), 0) << p.log();
    std::string out = p.log();
    size_t at = out.find("sk-sb-");
    ASSERT_NE(at, std::string::npos) << out;
    keys_[name] = out.substr(at, out.find('\n', at) - at);
  }

  Process startEdge(std::vector<std::string> args, std::string& port) {
    std::vector<std::string> all = {
        "--router", bus_.frontend(), "--listen",         "127.0.0.1:0", "--api-keys",  key_file_,
        "--redis",  redis_.url(),    "--retry-after-ms", "100",         "--log-level", "debug"};
    all.insert(all.end(), args.begin(), args.end());
    Process edge = Process::start("sb-edge", all);
    auto ready = edge.awaitReady(10s);
    EXPECT_TRUE(ready.has_value()) << edge.log();
    port = ready.value_or("0");
    return edge;
  }

  // Runs one check of node/edge_auth.cjs; its exit code (its output goes to the test's).
  int node(const std::string& check) {
    std::vector<std::string> args = {"NODE_PATH=" SB_NODE_MODULES,
                                     "EDGE_A=http://127.0.0.1:" + port_a_ + "/v1",
                                     "EDGE_B=http://127.0.0.1:" + port_b_ + "/v1",
                                     "EDGE_A_PID=" + std::to_string(a_.pid()),
                                     "EDGE_A_ADMIN=http://127.0.0.1:" + std::to_string(admin_a_),
                                     "SBCTL=" + binPath("sbctl"),
                                     "KEY_FILE=" + key_file_};
    for (const auto& [name, key] : keys_) {
      std::string upper = name;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      args.push_back("KEY_" + upper + "=" + key);
    }
    args.insert(args.end(), {"node", SB_NODE_TESTS "/edge_auth.cjs", check});
    Process p = Process::startSystem("env", args);
    auto rc = p.awaitExit(120s);
    std::cout << p.log();
    return rc.value_or(-1);
  }

  std::string logs() const { return "--- edge A:\n" + a_.log() + "\n--- edge B:\n" + b_.log(); }

  RedisServer redis_;
  Bus bus_;
  Process infer_, a_, b_;
  std::string dir_, key_file_, port_a_, port_b_;
  int admin_a_ = 0, admin_b_ = 0;
  std::map<std::string, std::string> keys_;
};

TEST_F(EdgeAuth, AMissingOrWrongKeyIsTheSdksAuthenticationErrorAndProbesNeedNone) {
  ASSERT_EQ(node("missingKey"), 0) << logs();
  ASSERT_EQ(node("wrongKey"), 0) << logs();
  ASSERT_EQ(node("goodKey"), 0) << logs();
  EXPECT_EQ(httpGet(admin_a_, "/readyz").status, 200);
  std::string metrics = httpGet(admin_a_, "/metrics").body;
  EXPECT_NE(metrics.find("sb_edge_auth_failures_total{reason=\"missing\"} 3"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("sb_edge_api_keys 8"), std::string::npos) << metrics;
  // The access log names the key's holder, never the key.
  EXPECT_NE(a_.log().find("status=200 key=open "), std::string::npos) << a_.log();
  for (const auto& [name, key] : keys_) {
    EXPECT_EQ(a_.log().find(key), std::string::npos) << name << "'s key is in the log";
    EXPECT_EQ(metrics.find(key), std::string::npos) << name << "'s key is in the metrics";
  }
  // Metrics name a key by its name.
  EXPECT_NE(metrics.find("sb_edge_key_tokens_total{key=\"open\"}"), std::string::npos) << metrics;
}

TEST_F(EdgeAuth, AKeyMayUseOnlyItsModels) { ASSERT_EQ(node("modelNotAllowed"), 0) << logs(); }

TEST_F(EdgeAuth, OverItsRequestsPerMinuteA429ThatTheSdkWaitsOutByItself) {
  ASSERT_EQ(node("requestsPerMinuteAndTheSdksOwnRetry"), 0) << logs();
  std::string metrics = httpGet(admin_a_, "/metrics").body;
  EXPECT_NE(metrics.find("sb_edge_rate_limited_total{key=\"rpm\",limit=\"requests\"} 2"),
            std::string::npos)
      << metrics;
  // The refused requests' access-log lines name the model they asked for.
  EXPECT_NE(a_.log().find("status=429 key=rpm model=demo "), std::string::npos) << a_.log();
}

TEST_F(EdgeAuth, TwoEdgesShareOneBudget) {
  ASSERT_EQ(node("oneBudgetAcrossTwoEdges"), 0) << logs();
}

TEST_F(EdgeAuth, TokensPerMinuteCountTheUsageOfFinishedRequests) {
  ASSERT_EQ(node("tokensPerMinuteCountWhatAnswersUsed"), 0) << logs();
}

TEST_F(EdgeAuth, ConcurrentRequestsAreLeasedAndFreedWhenTheClientLeaves) {
  ASSERT_EQ(node("concurrentRequests"), 0) << logs();
  // Nothing is left holding the key's place in Redis.
  EXPECT_EQ(redisCommand(redis_.port(), {"ZCARD", "sb:rl:{conc}:live"}), "0");
}

TEST_F(EdgeAuth, EachKeyHasItsOwnSessions) {
  auto session =
      Process::start("sb-session", {"--router", bus_.backend(), "--redis", redis_.url()});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  ASSERT_EQ(node("sessionsBelongToTheirKey"), 0) << logs();
  // Three turns under "open", one under "ann@example.org", all with X-Session-Id "chat-1":
  // two conversations, each holding only its own key's turns (a user message and an answer
  // per turn), and none under the bare id.
  auto messages = [&](const std::string& id) {
    return redisCommand(redis_.port(), {"LLEN", "sb:session:{" + id + "}:msgs"});
  };
  EXPECT_EQ(messages("open:chat-1"), "6");
  EXPECT_EQ(messages("ann@example.org:chat-1"), "2");
  EXPECT_EQ(messages("chat-1"), "0");
}

TEST_F(EdgeAuth, SighupReloadsTheKeysWithoutCuttingWhatRuns) {
  ASSERT_EQ(node("reloadTakesEffectAndKeepsWhatIsInFlight"), 0) << logs();
  EXPECT_NE(a_.log().find("API keys not reloaded, the previous ones stay"), std::string::npos);
}

TEST_F(EdgeAuth, RedisDownFailsOpenOrClosedAsConfiguredAndIsCounted) {
  redis_.kill();
  ASSERT_EQ(node("redisDown"), 0) << logs();
  EXPECT_NE(httpGet(admin_a_, "/metrics")
                .body.find("sb_edge_rate_limit_redis_errors_total{outcome=\"allowed\"} 1"),
            std::string::npos);
  EXPECT_NE(httpGet(admin_b_, "/metrics")
                .body.find("sb_edge_rate_limit_redis_errors_total{outcome=\"refused\"} 1"),
            std::string::npos);
  // Edge B refuses what it cannot check, so it is not ready; edge A serves on.
  EXPECT_TRUE(waitUntil([&] { return httpGet(admin_b_, "/readyz").status == 503; }, 10s));
  EXPECT_EQ(httpGet(admin_a_, "/readyz").status, 200);
}

}  // namespace
}  // namespace sb::test
