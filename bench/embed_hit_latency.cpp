// The embedding cache's hit paths through the router against an sb-echo round trip of the
// same size, in the same run: one client, one request in flight, alternating
//   echo:   a request carrying a body as large as an embedding reply, echoed back;
//   memory: `embed` of one text already in the memory tier (384-dim hash vector, ~1.6 KB);
//   redis:  the same through a second instance with no memory tier (--memory-mb 0): a Redis
//           GET per request.
// Prints p50 / p99 of each and the ratios to echo (the target: memory <= 1.2x echo).
//
//   bench_embed_hit_latency [--requests N] [--runs R]
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

#include "bus.h"
#include "process.h"
#include "redis.h"
#include "sb/core/json_body.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::SteadyClock;
using sb::test::Process;

namespace {

struct Sample {
  std::vector<double> us;
};

}  // namespace

int main(int argc, char** argv) {
  int requests = 20000, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--requests"))
      requests = static_cast<int>(std::strtol(argv[i + 1], nullptr, 10));
    if (!std::strcmp(argv[i], "--runs"))
      runs = static_cast<int>(std::strtol(argv[i + 1], nullptr, 10));
  }
  sb::test::RedisServer redis;
  sb::test::Bus bus;
  Process echo = bus.startEcho("echo-1");
  Process memory =
      Process::start("sb-embedding-cache", {"--router", bus.backend(), "--name", "cache-memory",
                                            "--redis", redis.url(), "--log-level", "warn"});
  Process shared = Process::start("sb-embedding-cache",
                                  {"--router", bus.backend(), "--name", "cache-redis", "--redis",
                                   redis.url(), "--memory-mb", "0", "--log-level", "warn"});
  if (!memory.awaitReady(10s) || !shared.awaitReady(10s)) {
    std::cerr << "caches did not start\n" << memory.log() << shared.log();
    return 1;
  }
  auto client = bus.client();
  std::string embed_body =
      sb::packJsonValue({{"model", "bench"}, {"inputs", {"what is the refund policy?"}}});
  sb::CallOptions cache_memory, cache_redis, plain;
  cache_memory.model = cache_redis.model = "bench";
  cache_memory.target = "cache-memory";
  cache_redis.target = "cache-redis";
  auto warm = client->call("embeddings", "embed", embed_body, cache_memory);
  if (!warm.status.ok()) {
    std::cerr << "embed failed: " << warm.status.message << "\n";
    return 1;
  }
  std::string echo_body(warm.body.size(), 'x');  // as large as the embedding reply
  std::printf("embedding reply %zu bytes; echo body %zu bytes; %d requests per path per run\n",
              warm.body.size(), echo_body.size(), requests);
  std::printf("%-4s %-7s %9s %9s %9s %9s\n", "run", "path", "p50 us", "p99 us", "p50/echo",
              "p99/echo");
  for (int run = 1; run <= runs; ++run) {
    std::map<std::string, std::vector<double>> us;
    for (int i = 0; i < requests; ++i) {
      for (const char* path : {"echo", "memory", "redis"}) {
        auto t0 = SteadyClock::now();
        sb::CallResult r = !std::strcmp(path, "echo")
                               ? client->call("echo", "echo", echo_body, plain)
                           : !std::strcmp(path, "memory")
                               ? client->call("embeddings", "embed", embed_body, cache_memory)
                               : client->call("embeddings", "embed", embed_body, cache_redis);
        if (!r.status.ok()) {
          std::cerr << path << " failed: " << r.status.message << "\n";
          return 1;
        }
        us[path].push_back(
            std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
      }
    }
    double e50 = sb::bench::percentile(us["echo"], 50), e99 = sb::bench::percentile(us["echo"], 99);
    for (const char* path : {"echo", "memory", "redis"}) {
      double p50 = sb::bench::percentile(us[path], 50), p99 = sb::bench::percentile(us[path], 99);
      std::printf("%-4d %-7s %9.0f %9.0f %9.2f %9.2f\n", run, path, p50, p99, p50 / e50, p99 / e99);
    }
  }
  return 0;
}
