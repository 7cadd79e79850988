#include "router_load.h"

#include <atomic>
#include <thread>
#include <vector>

#include "sb/bus/client.h"
#include "stats.h"

namespace sb::bench {

using namespace std::chrono_literals;

Measured throughput(zmq::context_t& ctx, const std::string& frontend, const Options& o,
                    pid_t broker) {
  const std::string body(static_cast<size_t>(o.body), 'x');
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&] {
      Client client(ctx, frontend, {}, o.curve);
      CallOptions opts;
      opts.deadline = 60s;
      int outstanding = 0;
      while (!stop) {
        while (outstanding < o.inflight) {
          client.send("echo", "echo", body, opts);
          ++outstanding;
        }
        auto in = client.next(100ms);
        if (!in || !proto::isFinal(in->kind)) continue;
        --outstanding;
        if (measuring) done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(1s);  // warm-up
  double cpu0 = cpuSeconds(broker);
  measuring = true;
  auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  measuring = false;
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  double cpu = cpuSeconds(broker) - cpu0;
  uint64_t n = done.load();
  stop = true;
  for (auto& t : threads) t.join();
  return {static_cast<double>(n) / elapsed, n ? cpu * 1e6 / static_cast<double>(n) : 0};
}

}  // namespace sb::bench
