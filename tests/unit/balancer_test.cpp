#include <gtest/gtest.h>

#include <map>

#include "sb/policy/balancer.h"

namespace sb {
namespace {

using namespace std::chrono_literals;

MemberSpec spec(uint32_t capacity, uint32_t weight = 1, bool backup = false,
                std::vector<std::string> tags = {}) {
  MemberSpec s;
  s.capacity = capacity;
  s.weight = weight;
  s.backup = backup;
  s.tags = std::move(tags);
  return s;
}

class BalancerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  SeededRandom random_{42};
  LeastConnBalancer lb_{clock_, random_, FailurePolicy{3, 10s}};

  MemberId pick(std::string_view tag = "") {
    auto id = lb_.select(tag);
    EXPECT_TRUE(id.has_value());
    if (id) lb_.onStart(*id);
    return id.value_or(0);
  }
};

TEST_F(BalancerTest, PicksFewestInFlight) {
  lb_.upsert(1, spec(10));
  lb_.upsert(2, spec(10));
  lb_.upsert(3, spec(10));
  lb_.onStart(1);
  lb_.onStart(1);
  lb_.onStart(2);
  EXPECT_EQ(lb_.select(""), 3u);
  lb_.onStart(3);
  lb_.onStart(3);
  EXPECT_EQ(lb_.select(""), 2u);
}

// A retry excludes the workers already tried, even the least loaded; the backups come in only
// when every primary is excluded or full, and with everything excluded there is no choice.
TEST_F(BalancerTest, ExcludedWorkersAreSkipped) {
  lb_.upsert(1, spec(10));
  lb_.upsert(2, spec(10));
  lb_.upsert(3, spec(10, 1, true));
  lb_.onStart(2);  // 1 is the least loaded
  EXPECT_EQ(lb_.select("", {1}), 2u);
  EXPECT_EQ(lb_.select("", {1, 2}), 3u);
  EXPECT_FALSE(lb_.select("", {1, 2, 3}).has_value());
  EXPECT_EQ(lb_.select(""), 1u);
}

TEST_F(BalancerTest, InFlightFollowsWeights) {
  lb_.upsert(1, spec(100, 3));
  lb_.upsert(2, spec(100, 1));
  // Heavier first when idle.
  EXPECT_EQ(lb_.select(""), 1u);
  for (int i = 0; i < 40; ++i) pick();
  EXPECT_EQ(lb_.find(1)->inflight, 30u);
  EXPECT_EQ(lb_.find(2)->inflight, 10u);
}

TEST_F(BalancerTest, NeverExceedsCapacity) {
  lb_.upsert(1, spec(2));
  lb_.upsert(2, spec(1));
  pick();
  pick();
  pick();
  EXPECT_FALSE(lb_.select("").has_value());
  EXPECT_EQ(lb_.find(1)->inflight, 2u);
  EXPECT_EQ(lb_.find(2)->inflight, 1u);
  lb_.onFinish(2, Outcome::kSuccess);
  EXPECT_EQ(lb_.select(""), 2u);
}

TEST_F(BalancerTest, TiesAreSpreadNotAlwaysTheSameWorker) {
  for (MemberId id = 1; id <= 4; ++id) lb_.upsert(id, spec(10));
  std::map<MemberId, int> chosen;
  for (int i = 0; i < 400; ++i) chosen[*lb_.select("")]++;  // all idle: always a 4-way tie
  ASSERT_EQ(chosen.size(), 4u);
  for (const auto& [id, n] : chosen) {
    EXPECT_GT(n, 60) << "worker " << id;
    EXPECT_LT(n, 140) << "worker " << id;
  }
}

TEST_F(BalancerTest, BackupsOnlyWhenNoPrimaryIsEligible) {
  lb_.upsert(1, spec(1));
  lb_.upsert(2, spec(5, 10, true));
  EXPECT_EQ(pick(), 1u);  // the backup is idle and heavier, but a primary can take it
  EXPECT_EQ(pick(), 2u);  // the primary is full
  lb_.onFinish(1, Outcome::kSuccess);
  EXPECT_EQ(pick(), 1u);
  lb_.setDraining(1, true);
  lb_.onFinish(1, Outcome::kSuccess);
  EXPECT_EQ(pick(), 2u);
}

TEST_F(BalancerTest, DrainingWorkersGetNothing) {
  lb_.upsert(1, spec(10));
  lb_.upsert(2, spec(10));
  lb_.setDraining(1, true);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pick(), 2u);
  lb_.setDraining(2, true);
  EXPECT_FALSE(lb_.select("").has_value());
}

TEST_F(BalancerTest, MaxFailsWithinWindowCoolsDownForFailTimeout) {
  lb_.upsert(1, spec(10));
  lb_.upsert(2, spec(10));
  auto failOn1 = [&] {
    lb_.onStart(1);
    lb_.onFinish(1, Outcome::kFailure);
  };
  failOn1();
  clock_.advance(4s);
  failOn1();
  EXPECT_FALSE(lb_.coolingDown(*lb_.find(1)));
  clock_.advance(4s);
  failOn1();  // third failure within 10 s
  EXPECT_TRUE(lb_.coolingDown(*lb_.find(1)));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pick(), 2u);
  clock_.advance(10s);
  EXPECT_FALSE(lb_.coolingDown(*lb_.find(1)));
  EXPECT_EQ(pick(), 1u);
}

TEST_F(BalancerTest, WhenEveryCandidateIsCoolingDownTheyServeAnyway) {
  lb_.upsert(1, spec(10));
  lb_.upsert(2, spec(10, 1, true));
  for (MemberId id : {MemberId{1}, MemberId{2}}) {
    for (int i = 0; i < 3; ++i) {
      lb_.onStart(id);
      lb_.onFinish(id, Outcome::kFailure);
    }
    EXPECT_TRUE(lb_.coolingDown(*lb_.find(id)));
  }
  // Panic: all are cooling down, so the primary still gets the work (not nothing at all).
  EXPECT_EQ(pick(), 1u);
  // But a healthy worker, when there is one, is preferred.
  lb_.upsert(3, spec(10));
  EXPECT_EQ(pick(), 3u);
  // Draining and full workers stay out even in panic.
  lb_.setDraining(3, true);
  lb_.setDraining(1, true);
  EXPECT_EQ(pick(), 2u);
}

TEST_F(BalancerTest, FailuresOutsideTheWindowDoNotAccumulate) {
  lb_.upsert(1, spec(10));
  for (int i = 0; i < 6; ++i) {
    lb_.onStart(1);
    lb_.onFinish(1, Outcome::kFailure);
    clock_.advance(6s);  // two failures per 10 s window at most
    if (i % 2 == 1) clock_.advance(5s);
  }
  EXPECT_FALSE(lb_.coolingDown(*lb_.find(1)));
}

TEST_F(BalancerTest, ClientErrorsDoNotCount) {
  lb_.upsert(1, spec(10));
  for (int i = 0; i < 10; ++i) {
    lb_.onStart(1);
    lb_.onFinish(1, Outcome::kNeutral);
  }
  EXPECT_FALSE(lb_.coolingDown(*lb_.find(1)));
  EXPECT_EQ(lb_.find(1)->inflight, 0u);
}

TEST_F(BalancerTest, RoutesByTag) {
  lb_.upsert(1, spec(10, 1, false, {"llama"}));
  lb_.upsert(2, spec(10, 1, false, {"qwen", "mistral"}));
  lb_.upsert(3, spec(10));  // serves any
  for (int i = 0; i < 6; ++i) {
    MemberId id = pick("mistral");
    EXPECT_TRUE(id == 2 || id == 3);
  }
  lb_.setDraining(3, true);
  EXPECT_EQ(pick("llama"), 1u);
  EXPECT_FALSE(lb_.select("gemma").has_value());
}

TEST_F(BalancerTest, RemoveAndUpsertKeepCounts) {
  lb_.upsert(1, spec(2));
  pick();
  lb_.upsert(1, spec(5, 2));  // a re-announce keeps the in-flight count
  EXPECT_EQ(lb_.find(1)->inflight, 1u);
  EXPECT_EQ(lb_.find(1)->spec.capacity, 5u);
  lb_.remove(1);
  EXPECT_EQ(lb_.find(1), nullptr);
  EXPECT_FALSE(lb_.select("").has_value());
}

TEST(RoundRobin, CyclesThroughEligibleWorkersIgnoringLoad) {
  ManualClock clock;
  SeededRandom random(1);
  RoundRobinBalancer rr(clock, random);
  for (MemberId id = 1; id <= 3; ++id) rr.upsert(id, spec(100));
  std::vector<MemberId> order;
  for (int i = 0; i < 6; ++i) {
    auto id = *rr.select("");
    rr.onStart(id);
    order.push_back(id);
  }
  EXPECT_EQ(order, (std::vector<MemberId>{1, 2, 3, 1, 2, 3}));
  rr.setDraining(2, true);
  EXPECT_EQ(*rr.select(""), 1u);
  EXPECT_EQ(*rr.select(""), 3u);
}

TEST(MakeBalancer, KnowsThePolicies) {
  ManualClock clock;
  SeededRandom random(1);
  EXPECT_NE(makeBalancer("least-conn", clock, random), nullptr);
  EXPECT_NE(makeBalancer("round-robin", clock, random), nullptr);
  EXPECT_EQ(makeBalancer("random", clock, random), nullptr);
}

}  // namespace
}  // namespace sb
