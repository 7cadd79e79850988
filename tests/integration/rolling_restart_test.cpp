// Restarting every process of a doubled suite one by one (routers included) under a steady load
// of chat turns, session reads and embeddings fails no request. The benchmark
// bench_rolling_restart runs the same at full scale.
#include <gtest/gtest.h>

#include "rolling_restart.h"

namespace sb::test {
namespace {

TEST(RollingRestart, EveryServiceRestartedUnderLoadFailsNoRequest) {
  RollingRestartOptions o;
  o.load.chat_streams = 3;
  o.load.embed_streams = 1;
  o.load.read_streams = 1;
  o.load.pause = Millis(30);
  RollingRestartResult r = runRollingRestart(o);
  ASSERT_EQ(r.error, "") << r.log;
  std::printf(
      "rolling restart: %.1f s; ok: %llu chat turns, %llu embeddings, %llu session reads; "
      "failed: %llu\n",
      r.seconds, static_cast<unsigned long long>(r.counts.chat_ok),
      static_cast<unsigned long long>(r.counts.embed_ok),
      static_cast<unsigned long long>(r.counts.read_ok),
      static_cast<unsigned long long>(r.counts.failed));
  for (size_t i = 0; i < r.restart_seconds.size(); ++i) {
    std::printf("  sbctl restart %s: %.1f s\n", o.restart[i].c_str(), r.restart_seconds[i]);
  }
  EXPECT_EQ(r.counts.failed, 0u) << (r.counts.failures.empty() ? "" : r.counts.failures[0]) << "\n"
                                 << r.log;
  // Every kind of request kept flowing through the restarts.
  EXPECT_GT(r.counts.chat_ok, 10u);
  EXPECT_GT(r.counts.embed_ok, 10u);
  EXPECT_GT(r.counts.read_ok, 10u);
}

}  // namespace
}  // namespace sb::test
