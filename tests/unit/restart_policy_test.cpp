// sbctl up's restarts of crashed processes, in simulated time.
#include <gtest/gtest.h>

#include "restart_policy.h"

namespace sb::ctl {
namespace {

using namespace std::chrono_literals;

TEST(RestartPolicy, BackoffDoublesToItsCapAndStartsOverAfterAStableRun) {
  RestartPolicy p({500ms, 4000ms, 30000ms, 100, 60000ms});
  TimePoint t{};
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    p.started(t);
    t += 100ms;  // crashes soon after each start
    waits.push_back(p.crashed(t)->count());
    t += std::chrono::milliseconds(waits.back());
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{500, 1000, 2000, 4000, 4000, 4000}));
  p.started(t);
  t += 31s;  // ran long enough: the next crash waits the first backoff again
  EXPECT_EQ(p.crashed(t)->count(), 500);
  EXPECT_EQ(p.restarts(), 7);
}

TEST(RestartPolicy, GivesUpAfterTheLimitWithinTheWindow) {
  RestartPolicy p({10ms, 10ms, 30000ms, 3, 60000ms});
  TimePoint t{};
  for (int i = 0; i < 3; ++i) {
    p.started(t);
    t += 1s;
    EXPECT_TRUE(p.crashed(t).has_value()) << i;
  }
  p.started(t);
  t += 1s;
  EXPECT_FALSE(p.crashed(t).has_value());
}

TEST(RestartPolicy, CrashesOutsideTheWindowAreForgotten) {
  RestartPolicy p({10ms, 10ms, 30000ms, 2, 10000ms});
  TimePoint t{};
  for (int i = 0; i < 10; ++i) {
    p.started(t);
    t += 6s;  // at most two crashes in any 10 s
    EXPECT_TRUE(p.crashed(t).has_value()) << i;
  }
}

}  // namespace
}  // namespace sb::ctl
