// What CURVE costs the bus: the same router, sb-echo workers and closed-loop clients, once on
// plain TCP and once with CURVE on every link (router key pair, ZAP allow-list, worker and
// client keys), alternating within one run; throughput, router CPU per round trip and
// latency at one request in flight, and their ratios.
//
//   bench_curve_cost [--seconds S] [--runs N] [--clients C] [--inflight K] [--body BYTES]
#include <cstdio>
#include <fstream>
#include <thread>

#include "process.h"
#include "router_load.h"
#include "sb/auth/curve_keys.h"
#include "sb/bus/client.h"
#include "sb/core/config.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::Client;
using sb::CurveClientKeys;
using sb::SteadyClock;
using sb::bench::Measured;
using sb::bench::Options;
using sb::test::Process;

namespace {

struct Keys {
  std::string dir;
  CurveClientKeys client;
};

// A router pair, a worker pair and a client pair in a fresh folder, and the allow-list.
Keys makeKeys() {
  Keys k;
  k.dir = sb::test::tempDir() + "/curve-bench";
  std::string mk = "mkdir -p '" + k.dir + "'";
  if (std::system(mk.c_str()) != 0) throw std::runtime_error("mkdir failed");
  auto router = sb::auth::generateCurveKeyPair(), worker = sb::auth::generateCurveKeyPair(),
       client = sb::auth::generateCurveKeyPair();
  for (auto [name, pair] : {std::pair{"router", router}, {"worker", worker}, {"client", client}}) {
    if (auto err = sb::auth::writeCurveCertificate(k.dir, name, pair)) {
      throw std::runtime_error(*err);
    }
  }
  std::ofstream(k.dir + "/peers.toml")
      << "[[client]]\nname = \"client\"\nkey_file = \"client.key\"\n"
      << "[[worker]]\nname = \"worker\"\nkey_file = \"worker.key\"\nservices = [\"echo\"]\n";
  k.client = {router.public_key, client.public_key, client.secret_key};
  return k;
}

struct Result {
  Measured m;
  double p50 = 0, p99 = 0;
};

Result run(zmq::context_t& ctx, Options o, const Keys* keys) {
  std::vector<std::string> router_args = {"--frontend",        "tcp://127.0.0.1:*", "--backend",
                                          "tcp://127.0.0.1:*", "--log-level",       "warn"};
  std::vector<std::string> worker_curve;
  if (keys) {
    router_args.insert(router_args.end(), {"--curve-secret", keys->dir + "/router.key_secret",
                                           "--curve-peers", keys->dir + "/peers.toml"});
    worker_curve = {"--curve-secret", keys->dir + "/worker.key_secret", "--curve-router-key",
                    keys->dir + "/router.key"};
    o.curve = keys->client;
  }
  Process router = Process::start("sb-router", router_args);
  auto line = router.awaitReady(10s);
  if (!line) throw std::runtime_error("router did not start: " + router.log());
  std::string fe = line->substr(0, line->find(' ')), be = line->substr(line->find(' ') + 1);
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> args = {"--router", be, "--capacity", "1024", "--log-level", "warn"};
    args.insert(args.end(), worker_curve.begin(), worker_curve.end());
    workers.push_back(Process::start("sb-echo", args));
    if (!workers.back().awaitReady(10s)) throw std::runtime_error(workers.back().log());
  }
  Result r;
  r.m = sb::bench::throughput(ctx, fe, o, router.pid());
  Client client(ctx, fe, {}, o.curve);
  const std::string body(static_cast<size_t>(o.body), 'x');
  sb::CallOptions opts;
  opts.deadline = 10s;
  std::vector<double> us;
  for (int i = 0; i < 200; ++i) client.call("echo", "echo", body, opts);
  auto until = SteadyClock::now() + 2s;
  while (SteadyClock::now() < until) {
    auto t0 = SteadyClock::now();
    if (!client.call("echo", "echo", body, opts).status.ok()) continue;
    us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
  }
  r.p50 = sb::bench::percentile(us, 50);
  r.p99 = sb::bench::percentile(us, 99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"The bus with CURVE against without, in one run", "bench_curve_cost"};
  app.add_option("--seconds", o.seconds, "Measuring time per side and run")->capture_default_str();
  app.add_option("--runs", o.runs, "Paired runs (the median is reported)")->capture_default_str();
  app.add_option("--clients", o.clients, "Client threads")->capture_default_str();
  app.add_option("--inflight", o.inflight, "Requests in flight per client")->capture_default_str();
  app.add_option("--body", o.body, "Request body bytes")->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  zmq::context_t ctx(1);
  Keys keys = makeKeys();
  std::vector<double> ratio, plain_rps, curve_rps, plain_cpu, curve_cpu, p50, p99;
  for (int i = 0; i < o.runs; ++i) {
    Result plain, curve;
    if (i % 2 == 0) {
      plain = run(ctx, o, nullptr);
      curve = run(ctx, o, &keys);
    } else {
      curve = run(ctx, o, &keys);
      plain = run(ctx, o, nullptr);
    }
    plain_rps.push_back(plain.m.rps);
    curve_rps.push_back(curve.m.rps);
    ratio.push_back(curve.m.rps / plain.m.rps);
    plain_cpu.push_back(plain.m.broker_cpu_us);
    curve_cpu.push_back(curve.m.broker_cpu_us);
    p50.push_back(curve.p50 / plain.p50);
    p99.push_back(curve.p99 / plain.p99);
    std::printf(
        "run %d: plain %s rt/s (%.2f us CPU/rt, p50 %.0f us), curve %s rt/s (%.2f us "
        "CPU/rt, p50 %.0f us), ratio %.2f\n",
        i + 1, sb::bench::grouped(plain.m.rps).c_str(), plain.m.broker_cpu_us, plain.p50,
        sb::bench::grouped(curve.m.rps).c_str(), curve.m.broker_cpu_us, curve.p50,
        curve.m.rps / plain.m.rps);
  }
  using sb::bench::median;
  std::printf(
      "\ncurve_cost: %d clients x %d in flight, 2 sb-echo workers, %d B bodies, %d s, median "
      "of %d runs on %u CPUs\n",
      o.clients, o.inflight, o.body, o.seconds, o.runs, std::thread::hardware_concurrency());
  std::printf("  plain TCP  %10s round trips/s, router CPU %.2f us per round trip\n",
              sb::bench::grouped(median(plain_rps)).c_str(), median(plain_cpu));
  std::printf("  CURVE      %10s round trips/s, router CPU %.2f us per round trip\n",
              sb::bench::grouped(median(curve_rps)).c_str(), median(curve_cpu));
  std::printf("  throughput CURVE/plain  %.2f   (median of the per-run ratios)\n", median(ratio));
  std::printf("  router CPU per round trip CURVE/plain  %.2f\n",
              median(curve_cpu) / median(plain_cpu));
  std::printf("  latency at 1 in flight CURVE/plain  p50 %.2f  p99 %.2f\n", median(p50),
              median(p99));
  return 0;
}
