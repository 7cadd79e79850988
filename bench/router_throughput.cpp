// Router throughput and latency against a plain zmq::proxy ROUTER/DEALER forwarder, with the
// same clients and the same sb-echo worker processes, in the same run.
//
//   bench_router_throughput [--seconds S] [--runs N] [--clients C] [--inflight K]
//                           [--baseline-bin DIR]
//
// With --baseline-bin, every run also measures the router and workers built in DIR (an
// earlier build), and the figure printed is this router against that one: a before/after
// comparison in one run.
//
// The proxy forwards [client id][header][body] to a DEALER backend, which is exactly what an
// sb-echo worker reads on its router link, so the workers are unchanged; their heartbeats go
// nowhere (set long enough not to matter).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "process.h"
#include "router_load.h"
#include "sb/bus/client.h"
#include "sb/core/config.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::Client;
using sb::SteadyClock;
using sb::bench::Measured;
using sb::bench::Options;
using sb::bench::throughput;
using sb::test::Process;

namespace {

const std::string kBody(100, 'x');

// One request in flight: round-trip times in microseconds.
std::vector<double> latency(zmq::context_t& ctx, const std::string& frontend, int seconds) {
  Client client(ctx, frontend);
  sb::CallOptions opts;
  opts.deadline = 10s;
  std::vector<double> us;
  for (int i = 0; i < 200; ++i) client.call("echo", "echo", kBody, opts);  // warm-up
  auto until = SteadyClock::now() + std::chrono::seconds(seconds);
  while (SteadyClock::now() < until) {
    auto t0 = SteadyClock::now();
    auto r = client.call("echo", "echo", kBody, opts);
    if (!r.status.ok()) continue;
    us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
  }
  return us;
}

std::vector<Process> startWorkers(const std::string& backend) {
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(Process::start("sb-echo",
                                     {"--router", backend, "--capacity", "1024", "--heartbeat-ms",
                                      "600000", "--log-level", "warn"},
                                     {}, false));
  }
  return workers;
}

struct Result {
  Measured m;
  std::vector<double> lat;
};

Result runRouter(zmq::context_t& ctx, const Options& o) {
  Process router = Process::start("sb-router", {"--frontend", "tcp://127.0.0.1:*", "--backend",
                                                "tcp://127.0.0.1:*", "--log-level", "warn"});
  auto line = router.awaitReady(10s);
  if (!line) throw std::runtime_error("router did not start");
  std::string fe = line->substr(0, line->find(' ')), be = line->substr(line->find(' ') + 1);
  auto workers = startWorkers(be);
  // Registered when a request gets through.
  Client probe(ctx, fe);
  while (!probe.call("echo", "echo", kBody).status.ok()) {
  }
  Result r;
  r.m = throughput(ctx, fe, o, router.pid());
  r.lat = latency(ctx, fe, 2);
  return r;
}

Result runProxy(zmq::context_t& ctx, const Options& o) {
  // The proxy runs in a child process, like the router, so both get the same scheduling.
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    zmq::context_t pctx(1);
    zmq::socket_t frontend(pctx, zmq::socket_type::router);
    zmq::socket_t backend(pctx, zmq::socket_type::dealer);
    for (auto* s : {&frontend, &backend}) {
      s->set(zmq::sockopt::sndhwm, 1000000);
      s->set(zmq::sockopt::rcvhwm, 1000000);
    }
    frontend.bind("tcp://127.0.0.1:*");
    backend.bind("tcp://127.0.0.1:*");
    std::string eps = frontend.get(zmq::sockopt::last_endpoint) + " " +
                      backend.get(zmq::sockopt::last_endpoint) + "\n";
    if (write(fds[1], eps.data(), eps.size()) < 0) _exit(1);
    close(fds[1]);
    zmq::proxy(frontend, backend);
    _exit(0);
  }
  close(fds[1]);
  char buf[256] = {0};
  ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  if (n <= 0) throw std::runtime_error("proxy did not start");
  std::string line(buf, static_cast<size_t>(n));
  std::string fe = line.substr(0, line.find(' '));
  std::string be = line.substr(line.find(' ') + 1);
  be.erase(be.find('\n'));
  auto workers = startWorkers(be);
  Client probe(ctx, fe);
  sb::CallOptions quick;
  quick.deadline = 200ms;
  while (!probe.call("echo", "echo", kBody, quick, {}, 0ms).status.ok()) {
  }
  Result r;
  r.m = throughput(ctx, fe, o, pid);
  r.lat = latency(ctx, fe, 2);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return r;
}

}  // namespace

// The router and workers from `dir` instead of this build's (the fixtures read the variable).
Result runBaselineRouter(zmq::context_t& ctx, const Options& o, const std::string& dir) {
  setenv("SB_TEST_BIN_DIR", dir.c_str(), 1);
  Result r = runRouter(ctx, o);
  unsetenv("SB_TEST_BIN_DIR");
  return r;
}

int main(int argc, char** argv) {
  Options o;
  std::string baseline;
  CLI::App app{"Router throughput and latency against a plain zmq::proxy",
               "bench_router_throughput"};
  app.add_option("--seconds", o.seconds, "Measuring time per side and run")->capture_default_str();
  app.add_option("--runs", o.runs, "Paired runs (the median is reported)")->capture_default_str();
  app.add_option("--clients", o.clients, "Client threads")->capture_default_str();
  app.add_option("--inflight", o.inflight, "Requests in flight per client")->capture_default_str();
  app.add_option("--baseline-bin", baseline,
                 "Also measure the sb-router and sb-echo in this folder (an earlier build)");
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  zmq::context_t ctx(1);
  std::vector<double> proxy_rps, router_rps, ratios, proxy_cpu, router_cpu, proxy_p50, proxy_p99,
      router_p50, router_p99, base_ratios, base_cpu;
  for (int run = 0; run < o.runs; ++run) {
    // Alternate the order so neither side always runs on a warmer machine.
    Result p, r, b;
    if (run % 2 == 0) {
      p = runProxy(ctx, o);
      r = runRouter(ctx, o);
      if (!baseline.empty()) b = runBaselineRouter(ctx, o, baseline);
    } else {
      if (!baseline.empty()) b = runBaselineRouter(ctx, o, baseline);
      r = runRouter(ctx, o);
      p = runProxy(ctx, o);
    }
    if (!baseline.empty()) {
      base_ratios.push_back(r.m.rps / b.m.rps);
      base_cpu.push_back(b.m.broker_cpu_us);
      std::printf("run %d: baseline router %s rt/s (%.2f us CPU/rt), this/baseline %.2f\n", run + 1,
                  sb::bench::grouped(b.m.rps).c_str(), b.m.broker_cpu_us, r.m.rps / b.m.rps);
    }
    proxy_rps.push_back(p.m.rps);
    router_rps.push_back(r.m.rps);
    ratios.push_back(r.m.rps / p.m.rps);
    proxy_cpu.push_back(p.m.broker_cpu_us);
    router_cpu.push_back(r.m.broker_cpu_us);
    proxy_p50.push_back(sb::bench::percentile(p.lat, 50));
    proxy_p99.push_back(sb::bench::percentile(p.lat, 99));
    router_p50.push_back(sb::bench::percentile(r.lat, 50));
    router_p99.push_back(sb::bench::percentile(r.lat, 99));
    std::printf(
        "run %d: proxy %s rt/s (%.2f us CPU/rt), router %s rt/s (%.2f us CPU/rt), ratio %.2f\n",
        run + 1, sb::bench::grouped(p.m.rps).c_str(), p.m.broker_cpu_us,
        sb::bench::grouped(r.m.rps).c_str(), r.m.broker_cpu_us, r.m.rps / p.m.rps);
  }
  using sb::bench::median;
  double pr = median(proxy_rps), rr = median(router_rps);
  std::printf(
      "\nrouter_throughput: %d clients x %d in flight, 2 sb-echo workers, %d B bodies, %d s, "
      "median of %d runs on %u CPUs\n",
      o.clients, o.inflight, o.body, o.seconds, o.runs, std::thread::hardware_concurrency());
  std::printf("  plain zmq::proxy  %10s round trips/s\n", sb::bench::grouped(pr).c_str());
  std::printf("  sb-router         %10s round trips/s\n", sb::bench::grouped(rr).c_str());
  std::printf("  ratio router/proxy  %.2f   (median of the per-run ratios; target >= 0.80)\n",
              median(ratios));
  std::printf("  broker CPU per round trip: proxy %.2f us, router %.2f us (%.2fx)\n",
              median(proxy_cpu), median(router_cpu), median(router_cpu) / median(proxy_cpu));
  std::printf("latency at 1 request in flight (us):\n");
  std::printf("  plain zmq::proxy  p50 %7.0f  p99 %7.0f\n", median(proxy_p50), median(proxy_p99));
  std::printf("  sb-router         p50 %7.0f  p99 %7.0f\n", median(router_p50), median(router_p99));
  std::printf("  ratio router/proxy  p50 %.2f  p99 %.2f\n", median(router_p50) / median(proxy_p50),
              median(router_p99) / median(proxy_p99));
  if (!baseline.empty()) {
    std::printf("against the baseline router (%s):\n", baseline.c_str());
    std::printf("  throughput this/baseline  %.2f   (median of the per-run ratios)\n",
                median(base_ratios));
    std::printf("  broker CPU per round trip: baseline %.2f us, this %.2f us (%.2fx)\n",
                median(base_cpu), median(router_cpu), median(router_cpu) / median(base_cpu));
  }
  return 0;
}
