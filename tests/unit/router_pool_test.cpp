// A client's choice among its routers (PROTOCOL.md 4.5), in simulated time.
#include <gtest/gtest.h>

#include <algorithm>

#include "sb/bus/router_pool.h"

namespace sb {
namespace {

using namespace std::chrono_literals;
using State = RouterPool::State;

TEST(RouterPool, ConnectingRoutersTakeRequestsOnlyUntilOneIsLive) {
  TimePoint t{};
  RouterPool pool(2, {}, t);
  std::vector<size_t> inflight{0, 0};
  // Nobody has answered yet: requests go to connecting routers, in turn.
  EXPECT_EQ(pool.choose(inflight), 0u);
  EXPECT_EQ(pool.choose(inflight), 1u);
  pool.heartbeat(1, t + 1ms);
  // Router 1 answered: only it takes requests while 0 is still connecting.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.choose(inflight), 1u);
}

TEST(RouterPool, TheLiveRouterWithFewestRequestsWinsAndTiesTakeTurns) {
  TimePoint t{};
  RouterPool pool(3, {}, t);
  for (size_t i = 0; i < 3; ++i) pool.heartbeat(i, t);
  EXPECT_EQ(pool.choose({5, 2, 7}), 1u);
  std::vector<size_t> even{1, 1, 1};
  std::vector<size_t> picks;
  for (int i = 0; i < 3; ++i) picks.push_back(*pool.choose(even));
  std::sort(picks.begin(), picks.end());
  EXPECT_EQ(picks, (std::vector<size_t>{0, 1, 2}));
}

TEST(RouterPool, ADrainingRouterIsSkippedUntilItHeartbeatsAgain) {
  TimePoint t{};
  RouterPool pool(2, {}, t);
  pool.heartbeat(0, t);
  pool.heartbeat(1, t);
  pool.drain(0, t + 10ms);
  EXPECT_EQ(pool.state(0), State::kDraining);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pool.choose({0, 9}), 1u);
  // Answers of its requests in flight do not make it live again...
  pool.heard(0, t + 20ms);
  EXPECT_EQ(pool.state(0), State::kDraining);
  // ...a heartbeat (a restarted router at the same address) does.
  pool.heartbeat(0, t + 30ms);
  EXPECT_EQ(pool.choose({0, 9}), 0u);
}

TEST(RouterPool, EveryRouterDrainingOrSilentLeavesNoChoice) {
  TimePoint t{};
  RouterPool pool(2, {}, t);
  pool.heartbeat(0, t);
  pool.drain(1, t);
  pool.drain(0, t);
  EXPECT_FALSE(pool.choose({0, 0}).has_value());
  EXPECT_FALSE(pool.anyLive());
}

TEST(RouterPool, SilenceIsHeartbeatTimesLivenessPlusGraceAndReportedOnce) {
  TimePoint t{};
  RouterPool pool(2, {}, t);  // 1000 ms x 3 + 100 ms
  pool.heartbeat(0, t);
  pool.heartbeat(1, t + 500ms);
  EXPECT_TRUE(pool.checkSilence(t + 3100ms).empty());
  EXPECT_EQ(pool.checkSilence(t + 3101ms), (std::vector<size_t>{0}));
  EXPECT_TRUE(pool.checkSilence(t + 3200ms).empty());  // once
  EXPECT_EQ(pool.state(0), State::kSilent);
  EXPECT_EQ(pool.choose({0, 0}), 1u);
  // A silent router that answers anything is live again.
  pool.heard(0, t + 3300ms);
  EXPECT_EQ(pool.state(0), State::kLive);
}

TEST(RouterPool, ARouterThatNeverAnswersGoesSilentToo) {
  TimePoint t{};
  RouterPool pool(1, {}, t);
  EXPECT_EQ(pool.choose({0}), 0u);
  EXPECT_EQ(pool.checkSilence(t + 3101ms), (std::vector<size_t>{0}));
  EXPECT_FALSE(pool.choose({0}).has_value());
}

}  // namespace
}  // namespace sb
