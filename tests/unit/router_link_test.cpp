// The worker's per-router state machine alone.
#include <gtest/gtest.h>

#include "sb/bus/router_link.h"

namespace sb {
namespace {

using namespace std::chrono_literals;

TEST(RouterLink, RegistersOnTheFirstWordAndCountsSilenceWithGrace) {
  RouterLink link({});
  TimePoint t{};
  EXPECT_FALSE(link.up());
  link.connected(t);
  EXPECT_EQ(link.state(), RouterLink::State::kAnnounced);
  EXPECT_TRUE(link.heard(t + 10ms));
  EXPECT_FALSE(link.heard(t + 20ms));  // registered once
  EXPECT_TRUE(link.registered());
  EXPECT_FALSE(link.silent(t + 20ms + 3100ms));
  EXPECT_TRUE(link.silent(t + 20ms + 3101ms));
}

TEST(RouterLink, BackoffDoublesToItsCapAndStartsOverWhenHeard) {
  RouterLink link({});
  TimePoint t{};
  std::vector<int64_t> waits;
  for (int i = 0; i < 8; ++i) {
    link.connected(t);
    waits.push_back(link.lost().count());
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000}));
  link.connected(t);
  link.heard(t);
  EXPECT_EQ(link.lost().count(), 1000);
}

TEST(RouterLink, DrainIsSettledByTheAckOrWhenNoRouterRegisteredUs) {
  RouterLink link({});
  TimePoint t{};
  link.connected(t);
  link.drainSent();
  EXPECT_TRUE(link.drainSettled());  // announced but never answered: nobody to send us work
  link.heard(t);
  EXPECT_FALSE(link.drainSettled());
  link.drainAcked();
  EXPECT_TRUE(link.drainSettled());
}

}  // namespace
}  // namespace sb
