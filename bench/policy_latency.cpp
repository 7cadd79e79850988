// Least-connection vs round-robin under the same offered load: 8 sb-echo workers whose service
// times are lognormal (heavy tail) and who serve one request at a time (--slots 1, like a GPU
// that runs one generation at a time), with Poisson arrivals at a fixed rate from the same
// seed for both policies. Prints p50/p99 of both and the p99 ratio.
//
//   bench_policy_latency [--seconds S] [--load RHO] [--mu MU] [--sigma SIGMA] [--runs N]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_map>

#include "process.h"
#include "sb/bus/client.h"
#include "sb/core/config.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::SteadyClock;
using sb::test::Process;

namespace {

struct Options {
  int seconds = 10;
  double load = 0.7;   // offered load relative to the workers' total service rate
  double mu = 2.0;     // ln(ms): median service time e^2 = 7.4 ms
  double sigma = 1.0;  // mean e^(mu + sigma^2/2) = 12.2 ms, p99 ~ 76 ms
  int workers = 8;
  int runs = 1;
};

struct Result {
  std::vector<double> ms;
  int errors = 0;
};

Result run(const std::string& policy, const Options& o, uint64_t seed) {
  Process router = Process::start(
      "sb-router", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--policy",
                    policy, "--log-level", "warn", "--queue-size", "100000"});
  auto line = router.awaitReady(10s);
  if (!line) throw std::runtime_error("router did not start");
  std::string fe = line->substr(0, line->find(' ')), be = line->substr(line->find(' ') + 1);
  std::vector<Process> workers;
  char lognormal[64];
  std::snprintf(lognormal, sizeof(lognormal), "%g,%g", o.mu, o.sigma);
  for (int i = 0; i < o.workers; ++i) {
    workers.push_back(Process::start(
        "sb-echo", {"--router", be, "--name", "w" + std::to_string(i), "--capacity", "64",
                    "--slots", "1", "--delay-lognormal", lognormal, "--seed",
                    std::to_string(seed + static_cast<uint64_t>(i) + 1), "--log-level", "warn"}));
    if (!workers.back().awaitReady(10s)) throw std::runtime_error("worker did not start");
  }
  zmq::context_t ctx(1);
  sb::Client client(ctx, fe);
  double mean_ms = std::exp(o.mu + o.sigma * o.sigma / 2);
  double rate = o.load * o.workers / (mean_ms / 1000.0);  // requests per second
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  std::unordered_map<uint64_t, SteadyClock::time_point> sent;
  Result r;
  sb::CallOptions opts;
  opts.deadline = 60s;
  auto start = SteadyClock::now();
  auto end = start + std::chrono::seconds(o.seconds);
  auto next = start;
  while (SteadyClock::now() < end || !sent.empty()) {
    auto now = SteadyClock::now();
    while (now < end && next <= now) {
      sent[client.send("echo", "echo", "x", opts)] = SteadyClock::now();
      next += std::chrono::duration_cast<SteadyClock::duration>(
          std::chrono::duration<double>(gap(rng)));
    }
    auto wait = now < end ? std::chrono::ceil<sb::Millis>(next - now) : sb::Millis(1000);
    auto in = client.next(std::max(wait, sb::Millis(0)));
    if (!in || !sb::proto::isFinal(in->kind)) continue;
    auto it = sent.find(in->id);
    if (it == sent.end()) continue;
    if (in->kind == sb::proto::Kind::kError) ++r.errors;
    r.ms.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - it->second).count());
    sent.erase(it);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Least-connection against round-robin on a heavy-tailed service",
               "bench_policy_latency"};
  app.add_option("--seconds", o.seconds, "Measuring time per policy and run")
      ->capture_default_str();
  app.add_option("--load", o.load, "Offered load, a fraction of capacity")->capture_default_str();
  app.add_option("--mu", o.mu, "Service time exp(N(mu, sigma)) ms: mu")->capture_default_str();
  app.add_option("--sigma", o.sigma, "...and sigma")->capture_default_str();
  app.add_option("--runs", o.runs, "Runs (the median is reported)")->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  std::vector<double> lc50, lc99, rr50, rr99;
  for (int k = 0; k < o.runs; ++k) {
    uint64_t seed = 1000 + static_cast<uint64_t>(k);
    Result lc = run("least-conn", o, seed);
    Result rr = run("round-robin", o, seed);
    lc50.push_back(sb::bench::percentile(lc.ms, 50));
    lc99.push_back(sb::bench::percentile(lc.ms, 99));
    rr50.push_back(sb::bench::percentile(rr.ms, 50));
    rr99.push_back(sb::bench::percentile(rr.ms, 99));
    std::printf("run %d: least-conn %zu requests (%d errors), round-robin %zu (%d errors)\n", k + 1,
                lc.ms.size(), lc.errors, rr.ms.size(), rr.errors);
  }
  using sb::bench::median;
  std::printf(
      "\npolicy_latency: %d sb-echo workers, 1 slot each, lognormal service time mu=%g sigma=%g "
      "(mean %.1f ms), Poisson arrivals at %.0f%% load, %d s, median of %d run(s)\n",
      o.workers, o.mu, o.sigma, std::exp(o.mu + o.sigma * o.sigma / 2), o.load * 100, o.seconds,
      o.runs);
  std::printf("  round-robin  p50 %7.1f ms  p99 %7.1f ms\n", median(rr50), median(rr99));
  std::printf("  least-conn   p50 %7.1f ms  p99 %7.1f ms\n", median(lc50), median(lc99));
  std::printf("  p99 ratio least-conn/round-robin  %.2f   (target <= 0.60)\n",
              median(lc99) / median(rr99));
  return 0;
}
