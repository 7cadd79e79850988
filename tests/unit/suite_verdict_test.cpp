// sb-health's verdict and the admin plane's readiness report: what /readyz says, from state.
#include <gtest/gtest.h>

#include "sb/admin/admin_server.h"
#include "sb/admin/readiness.h"
#include "suite_state.h"

namespace sb::health {
namespace {

SuiteState healthySuite() {
  SuiteState s;
  s.routers.push_back({"tcp://127.0.0.1:5555", true, 0.3, 1000, ""});
  s.services["infer"] = {"infer", 1, 0, 0};
  s.services["session"] = {"session", 1, 0, 0};
  InstanceState infer;
  infer.name = "infer-1";
  infer.service = "infer";
  infer.answered = true;
  s.instances[infer.name] = infer;
  InstanceState session = infer;
  session.name = "session-1";
  session.service = "session";
  s.instances[session.name] = session;
  RedisState node;
  node.address = "127.0.0.1:6379";
  node.role = "standalone";
  node.up = true;
  s.redis[node.address] = node;
  return s;
}

std::string joined(const admin::Readiness::Report& r) {
  std::string out;
  for (const auto& m : admin::missingChecks(r)) out += m + "\n";
  return out;
}

TEST(SuiteVerdict, HealthySuiteIsReady) {
  auto r = assess(healthySuite(), {"infer", "session"});
  EXPECT_TRUE(r.ready) << joined(r);
  EXPECT_TRUE(admin::missingChecks(r).empty());
}

TEST(SuiteVerdict, RequiredServiceWithoutLiveWorkerIsNamedWithWhy) {
  SuiteState s = healthySuite();
  s.instances["infer-1"].draining = true;
  auto r = assess(s, {"infer", "session"});
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(admin::missingChecks(r).size(), 1U) << joined(r);
  EXPECT_EQ(admin::missingChecks(r)[0], "service infer: no live worker (infer-1 draining)");
}

TEST(SuiteVerdict, ServiceNeverSeenIsMissingWhenRequired) {
  auto r = assess(healthySuite(), {"embeddings"});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(joined(r), "service embeddings: no live worker (none registered)\n");
}

TEST(SuiteVerdict, EveryKnownServiceIsRequiredByDefault) {
  SuiteState s = healthySuite();
  s.instances["session-1"].answered = false;
  s.instances["session-1"].error = "DEADLINE_EXCEEDED";
  auto r = assess(s, {});
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(joined(r),
            "service session: no live worker (session-1 unresponsive (DEADLINE_EXCEEDED))\n");
}

TEST(SuiteVerdict, WorkerNotReadyNamesItsFailedCheck) {
  SuiteState s = healthySuite();
  s.instances["session-1"].ready = false;
  s.instances["session-1"].checks = {{"worker", true, true, "registered"},
                                     {"redis", false, true, "master 127.0.0.1:6379 down"}};
  auto r = assess(s, {"session"});
  EXPECT_EQ(joined(r),
            "service session: no live worker (session-1 redis: master 127.0.0.1:6379 down)\n");
}

TEST(SuiteVerdict, RedisDownOrClusterNotOkIsMissingButAReplicaIsNot) {
  SuiteState s = healthySuite();
  s.redis["127.0.0.1:6379"].up = false;
  s.redis["127.0.0.1:6379"].error = "cannot connect";
  RedisState replica;
  replica.address = "127.0.0.1:7004";
  replica.role = "replica";
  replica.error = "timed out";
  s.redis[replica.address] = replica;
  auto r = assess(s, {"infer"});
  EXPECT_EQ(joined(r), "redis 127.0.0.1:6379: cannot connect\n");
  s.redis["127.0.0.1:6379"] = {"127.0.0.1:6379", "master", true, "fail", 0.1, ""};
  EXPECT_EQ(joined(assess(s, {"infer"})), "redis 127.0.0.1:6379: cluster_state fail\n");
}

TEST(SuiteVerdict, NoRouterAnswering) {
  SuiteState s = healthySuite();
  s.routers[0].up = false;
  s.routers[0].error = "DEADLINE_EXCEEDED";
  auto r = assess(s, {"infer"});
  EXPECT_EQ(joined(r), "router: none answers: tcp://127.0.0.1:5555: DEADLINE_EXCEEDED\n");
}

TEST(Readiness, StoppingWinsAndOptionalChecksDoNotCount) {
  admin::Readiness readiness;
  bool redis_up = false;
  readiness.add("worker", [] { return admin::Check{true, "registered"}; });
  readiness.add(
      "redis",
      [&] {
        return admin::Check{redis_up, "down"};
      },
      false);
  auto r = readiness.evaluate();
  EXPECT_TRUE(r.ready);
  auto a = admin::readyzAnswer(r, false);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"missing\":[],\"status\":\"ready\"}\n");
  readiness.stopping("draining");
  a = admin::readyzAnswer(readiness.evaluate(), true);
  EXPECT_EQ(a.status, 503);
  auto j = nlohmann::json::parse(a.body);
  EXPECT_EQ(j["missing"], nlohmann::json::array({"shutdown: draining"}));
  ASSERT_EQ(j["checks"].size(), 3U);
  EXPECT_EQ(j["checks"][2]["name"], "redis");
  EXPECT_EQ(j["checks"][2]["required"], false);
}

TEST(Readiness, AThrowingCheckFailsOnlyItself) {
  admin::Readiness readiness;
  readiness.add("broken", []() -> admin::Check { throw std::runtime_error("boom"); });
  readiness.add("fine", [] { return admin::Check{true, ""}; });
  auto r = readiness.evaluate();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(admin::missingChecks(r), std::vector<std::string>{"broken: check failed: boom"});
}

}  // namespace
}  // namespace sb::health
