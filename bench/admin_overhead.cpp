// The cost of observability: the router's throughput with its admin listener on and scraped
// every second (/metrics and /readyz, as Prometheus and a kubelet would), against the same
// router with no admin listener, in one run. Target: >= 0.97x.
//
//   bench_admin_overhead [--seconds S] [--runs N] [--clients C] [--inflight K]
#include <atomic>
#include <cstdio>
#include <thread>

#include "http_get.h"
#include "process.h"
#include "redis.h"
#include "router_load.h"
#include "sb/bus/client.h"
#include "sb/core/config.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::test::Process;

namespace {

struct Run {
  sb::bench::Measured m;
  uint64_t scrapes = 0;
  size_t metrics_bytes = 0;
};

Run measure(zmq::context_t& ctx, const sb::bench::Options& o, bool admin) {
  std::vector<std::string> args{"--frontend",        "tcp://127.0.0.1:*", "--backend",
                                "tcp://127.0.0.1:*", "--log-level",       "warn"};
  int port = sb::test::freePort();
  if (admin) args.insert(args.end(), {"--admin-http", "127.0.0.1:" + std::to_string(port)});
  Process router = Process::start("sb-router", args);
  auto line = router.awaitReady(10s);
  if (!line) throw std::runtime_error("router did not start: " + router.log());
  std::string fe = line->substr(0, line->find(' ')), be = line->substr(line->find(' ') + 1);
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(Process::start(
        "sb-echo",
        {"--router", be, "--capacity", "1024", "--heartbeat-ms", "600000", "--log-level", "warn"},
        {}, false));
  }
  sb::Client probe(ctx, fe);
  while (!probe.call("echo", "echo", "x").status.ok()) {
  }
  std::atomic<bool> stop{false};
  Run r;
  std::thread scraper;
  if (admin) {
    scraper = std::thread([&] {
      while (!stop) {
        auto m = sb::test::httpGet(port, "/metrics");
        auto ready = sb::test::httpGet(port, "/readyz");
        if (m.status == 200 && ready.status == 200) {
          ++r.scrapes;
          r.metrics_bytes = m.body.size();
        }
        for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(100ms);
      }
    });
  }
  r.m = sb::bench::throughput(ctx, fe, o, router.pid());
  stop = true;
  if (scraper.joinable()) scraper.join();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  sb::bench::Options o;
  CLI::App app{"Router throughput with its admin listener scraped every second, against off",
               "bench_admin_overhead"};
  app.add_option("--seconds", o.seconds, "Measuring time per side and run")->capture_default_str();
  app.add_option("--runs", o.runs, "Paired runs (the median is reported)")->capture_default_str();
  app.add_option("--clients", o.clients, "Client threads")->capture_default_str();
  app.add_option("--inflight", o.inflight, "Requests in flight per client")->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  zmq::context_t ctx(1);
  std::vector<double> off_rps, on_rps, ratios, off_cpu, on_cpu;
  for (int run = 0; run < o.runs; ++run) {
    // Alternate the order so neither side always runs on a warmer machine.
    Run off, on;
    if (run % 2 == 0) {
      off = measure(ctx, o, false);
      on = measure(ctx, o, true);
    } else {
      on = measure(ctx, o, true);
      off = measure(ctx, o, false);
    }
    off_rps.push_back(off.m.rps);
    on_rps.push_back(on.m.rps);
    ratios.push_back(on.m.rps / off.m.rps);
    off_cpu.push_back(off.m.broker_cpu_us);
    on_cpu.push_back(on.m.broker_cpu_us);
    std::printf("run %d: admin off %s rt/s, admin on %s rt/s (%llu scrapes of %zu B), ratio %.3f\n",
                run + 1, sb::bench::grouped(off.m.rps).c_str(),
                sb::bench::grouped(on.m.rps).c_str(), static_cast<unsigned long long>(on.scrapes),
                on.metrics_bytes, on.m.rps / off.m.rps);
  }
  std::printf(
      "\nadmin_overhead: %d clients x %d in flight, 2 sb-echo workers, %d s, median of %d runs "
      "on %u CPUs\n",
      o.clients, o.inflight, o.seconds, o.runs, std::thread::hardware_concurrency());
  std::printf("  admin listener off        %10s round trips/s\n",
              sb::bench::grouped(sb::bench::median(off_rps)).c_str());
  std::printf("  on, scraped every second  %10s round trips/s\n",
              sb::bench::grouped(sb::bench::median(on_rps)).c_str());
  std::printf("  ratio on/off  %.3f   (median of the per-run ratios; target >= 0.97)\n",
              sb::bench::median(ratios));
  // Steadier than throughput on a shared machine: the router's own CPU per round trip.
  std::printf("  router CPU per round trip: off %.2f us, on %.2f us (on/off %.3f)\n",
              sb::bench::median(off_cpu), sb::bench::median(on_cpu),
              sb::bench::median(on_cpu) / sb::bench::median(off_cpu));
  return 0;
}
