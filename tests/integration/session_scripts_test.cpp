// The session scripts' operation-id window, run in a real redis-server with the clock given
// explicitly (the scripts take `now` as an argument), so hours pass in no time.
#include <gtest/gtest.h>

#include "redis.h"
#include "session_scripts.h"

namespace sb::test {
namespace {

class OpWindow : public ::testing::Test {
 protected:
  // An append of one message under `op` at time `now` (ms), window 1 h, at most `cap` ids.
  std::string append(const std::string& op, int64_t now, const std::string& text, int cap = 10000) {
    return redis_.command({"EVAL", session::Scripts::kAppend, "4", "m", "l", "o", "t", op,
                           std::to_string(now), std::to_string(kWindow), std::to_string(cap),
                           "1000", "1000000", "", text});
  }
  static constexpr int64_t kWindow = int64_t{3600} * 1000;
  RedisServer redis_;
};

TEST_F(OpWindow, AResendWithinTheWindowIsAnsweredNotApplied) {
  redis_.command({"HSET", "m", "version", "0", "ttl", "60"});
  int64_t t = 1'000'000;
  EXPECT_EQ(append("a", t, "x"), "1 1 0");
  EXPECT_EQ(append("a", t + kWindow - 1, "x"), "1 1 0");  // the first result
  EXPECT_EQ(redis_.command({"LLEN", "l"}), "1");
}

TEST_F(OpWindow, IdsOlderThanTheWindowAreForgottenByLaterWrites) {
  redis_.command({"HSET", "m", "version", "0", "ttl", "60"});
  int64_t t = 1'000'000;
  append("old", t, "x");
  append("new", t + kWindow + 1, "y");  // prunes what is older than the window
  EXPECT_EQ(redis_.command({"HEXISTS", "o", "old"}), "0");
  EXPECT_EQ(redis_.command({"ZSCORE", "t", "old"}), "(nil)");
  EXPECT_EQ(redis_.command({"HEXISTS", "o", "new"}), "1");
}

TEST_F(OpWindow, TheCapForgetsTheOldestFirstNotEverything) {
  redis_.command({"HSET", "m", "version", "0", "ttl", "60"});
  int64_t t = 1'000'000;
  for (int i = 0; i < 5; ++i) append("op" + std::to_string(i), t + i, "x", 3);
  EXPECT_EQ(redis_.command({"ZRANGE", "t", "0", "-1"}), "op2 op3 op4");
  EXPECT_EQ(redis_.command({"HLEN", "o"}), "3");
}

}  // namespace
}  // namespace sb::test
