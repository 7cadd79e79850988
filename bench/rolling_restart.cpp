// The zero-failure rolling restart at full scale: two routers, two edges behind nginx, two of
// every worker under sbctl up; a heavier steady load of chat turns, embeddings and session
// reads; every service restarted one instance at a time, `--rounds` times. Prints what was
// served and what failed (the target: nothing).
//
//   bench_rolling_restart [--rounds N] [--chat N] [--embed N] [--reads N]
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rolling_restart.h"

int main(int argc, char** argv) {
  sb::test::RollingRestartOptions o;
  int rounds = 3;
  o.load.chat_streams = 16;
  o.load.embed_streams = 4;
  o.load.read_streams = 4;
  o.load.pause = sb::Millis(5);
  o.settle = sb::Millis(3000);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--chat")) o.load.chat_streams = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--embed")) o.load.embed_streams = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--reads")) o.load.read_streams = std::atoi(argv[i + 1]);
  }
  std::vector<std::string> once = o.restart;
  o.restart.clear();
  for (int r = 0; r < rounds; ++r) o.restart.insert(o.restart.end(), once.begin(), once.end());
  std::printf(
      "load: %d chat streams, %d embedding streams, %d session-read streams; "
      "%d round(s) of restarts of %zu services\n",
      o.load.chat_streams, o.load.embed_streams, o.load.read_streams, rounds, once.size());
  sb::test::RollingRestartResult r = sb::test::runRollingRestart(o);
  if (!r.error.empty()) {
    std::fprintf(stderr, "%s\n%s\n", r.error.c_str(), r.log.c_str());
    return 1;
  }
  for (size_t i = 0; i < r.restart_seconds.size(); ++i) {
    std::printf("  sbctl restart %-10s %5.1f s\n", o.restart[i].c_str(), r.restart_seconds[i]);
  }
  std::printf(
      "restarts took %.1f s; served %llu chat turns, %llu embeddings, %llu session reads "
      "(%.0f requests/s); failed %llu\n",
      r.seconds, static_cast<unsigned long long>(r.counts.chat_ok),
      static_cast<unsigned long long>(r.counts.embed_ok),
      static_cast<unsigned long long>(r.counts.read_ok),
      static_cast<double>(r.counts.ok()) / (r.seconds + 6.0),
      static_cast<unsigned long long>(r.counts.failed));
  for (const auto& f : r.counts.failures) std::printf("  failure: %s\n", f.substr(0, 120).c_str());
  if (r.counts.failed > 0 || std::getenv("SB_BENCH_LOG")) {
    std::fprintf(stderr, "sbctl up's output:\n%s\n", r.log.c_str());
  }
  return r.counts.failed == 0 ? 0 : 1;
}
