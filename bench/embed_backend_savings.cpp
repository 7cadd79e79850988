// Backend computations saved across instances: 4 clients replay the same Zipf(0.99) trace of
// texts, concurrently, through the router to two sb-embedding-cache instances sharing one
// redis-server, in front of one scripted /v1/embeddings server that counts every text it
// computes. Prints backend computations per distinct text (1.0 = each text computed once in
// the whole fleet), the hits by tier, and the batch sizes the backend saw.
//
//   bench_embed_backend_savings [--lookups N] [--texts K] [--batch B] [--inflight F]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>

#include "bus.h"
#include "fake_embedder.h"
#include "process.h"
#include "redis.h"
#include "sb/core/json_body.h"
#include "stats.h"
#include "zipf.h"

using namespace std::chrono_literals;
using sb::test::Process;

int main(int argc, char** argv) {
  uint64_t lookups = 40000, texts = 10000;
  size_t batch = 8, inflight = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--lookups")) lookups = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--texts")) texts = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--batch")) batch = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--inflight")) inflight = std::strtoull(argv[i + 1], nullptr, 10);
  }
  std::mt19937_64 gen(1);
  std::vector<uint32_t> trace = sb::bench::zipfTrace(texts, lookups, 0.99, gen);
  std::set<uint32_t> distinct(trace.begin(), trace.end());
  sb::test::FakeEmbedder backend(384);
  sb::test::RedisServer redis;
  sb::test::Bus bus;
  std::vector<Process> caches;
  for (const char* name : {"cache-1", "cache-2"}) {
    caches.push_back(Process::start(
        "sb-embedding-cache",
        {"--router", bus.backend(), "--name", name, "--redis", redis.url(), "--embed-backend",
         "kind=openai,url=" + backend.base() + ",max_conns=4", "--log-level", "warn"}));
    if (!caches.back().awaitReady(10s)) {
      std::cerr << caches.back().log();
      return 1;
    }
  }
  std::atomic<uint64_t> failed{0};
  auto t0 = sb::SteadyClock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      auto client = bus.client();
      sb::CallOptions o;
      o.model = "bench";
      o.deadline = 60s;
      size_t outstanding = 0;
      for (size_t at = 0; at < trace.size() || outstanding > 0;) {
        while (at < trace.size() && outstanding < inflight) {
          std::vector<std::string> inputs;
          for (size_t i = 0; i < batch && at < trace.size(); ++i, ++at)
            inputs.push_back("document passage number " + std::to_string(trace[at]));
          client->send("embeddings", "embed",
                       sb::packJsonValue({{"model", "bench"}, {"inputs", inputs}}), o);
          ++outstanding;
        }
        auto in = client->next(60000ms);
        if (!in) {
          failed += outstanding;
          return;
        }
        if (in->kind == sb::proto::Kind::kChunk) continue;
        if (in->kind != sb::proto::Kind::kReply) ++failed;
        --outstanding;
      }
    });
  }
  for (auto& t : clients) t.join();
  double seconds = std::chrono::duration<double>(sb::SteadyClock::now() - t0).count();
  uint64_t memory = 0, from_redis = 0, computed = 0, joined = 0, waits = 0;
  for (const char* name : {"cache-1", "cache-2"}) {
    sb::CallOptions o;
    o.target = name;
    auto st = sb::unpackJsonValue(bus.client()->call("embeddings", "status", "", o).body);
    memory += st["inputs"]["memory"].get<uint64_t>();
    from_redis += st["inputs"]["redis"].get<uint64_t>();
    computed += st["inputs"]["computed"].get<uint64_t>();
    joined += st["flights"]["joined"].get<uint64_t>();
    waits += st["flights"]["lease_waits"].get<uint64_t>();
  }
  std::vector<size_t> sizes = backend.batches();
  double mean = 0;
  for (size_t s : sizes) mean += static_cast<double>(s);
  mean /= sizes.empty() ? 1 : static_cast<double>(sizes.size());
  std::vector<double> as_double(sizes.begin(), sizes.end());
  std::printf(
      "4 clients x %llu lookups (Zipf 0.99 over %llu texts, %zu distinct), %zu texts per "
      "request, %zu requests in flight per client, 2 instances, %.1f s\n",
      static_cast<unsigned long long>(lookups), static_cast<unsigned long long>(texts),
      distinct.size(), batch, inflight, seconds);
  std::printf("failed requests           %llu\n", static_cast<unsigned long long>(failed.load()));
  std::printf("backend computations      %d for %zu distinct texts: %.3f per text\n",
              backend.computedTotal(), distinct.size(),
              static_cast<double>(backend.computedTotal()) / static_cast<double>(distinct.size()));
  std::printf(
      "inputs answered           memory %llu, redis %llu, computed %llu (of which joined "
      "a running computation %llu; left to the other instance's lease %llu)\n",
      static_cast<unsigned long long>(memory), static_cast<unsigned long long>(from_redis),
      static_cast<unsigned long long>(computed), static_cast<unsigned long long>(joined),
      static_cast<unsigned long long>(waits));
  std::printf(
      "backend calls             %zu; texts per call mean %.1f, p50 %.0f, p99 %.0f, max "
      "%zu\n",
      sizes.size(), mean, sb::bench::percentile(as_double, 50),
      sb::bench::percentile(as_double, 99),
      sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end()));
  return failed.load() == 0 ? 0 : 1;
}
