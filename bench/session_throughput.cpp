// session.get / session.append through router + sb-session with 50 concurrent callers, against
// redis-benchmark -c 50 -P 1 -t get,set on the same Redis in the same run; single Redis and a
// 3-master cluster (redis-benchmark --cluster, -n 5 million as short runs are mis-timed).
// Each of `--runs` rounds measures the baseline right before ours; the ratio printed is the
// median of the rounds' ratios (the machine is shared: absolute rates drift by ±20 %).
//
//   bench_session_throughput [--seconds S] [--runs R] [--cluster-n N] [--skip-cluster 1]
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <thread>

#include "process.h"
#include "redis.h"
#include "sb/bus/client.h"
#include "sb/core/config.h"
#include "session_bus.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::SteadyClock;
using sb::test::Process;

namespace {

struct Rate {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
  double cpu_us = 0;  // CPU per request, of every process on the path (ours or the baseline's)
};

double cpuOf(const std::vector<pid_t>& pids) {
  double total = 0;
  for (pid_t p : pids) total += sb::bench::cpuSeconds(p);
  return total;
}

// `callers` requests always in flight from one client (each a caller waiting for its answer).
// `pids`: the processes whose CPU counts (router, sb-session, Redis; this one is added).
Rate drive(sb::test::SessionBus& sb, const std::string& op, int callers, int seconds, int sessions,
           std::vector<pid_t> pids) {
  pids.push_back(getpid());
  sb::Client client(sb.bus().context(), sb.bus().frontend());
  sb::CallOptions o;
  o.deadline = 10s;
  std::unordered_map<uint64_t, SteadyClock::time_point> pending;
  std::vector<double> lat;
  Rate r;
  uint64_t n = 0, done = 0;
  auto body = [&](uint64_t i) {
    std::string id = "bench-" + std::to_string(i % static_cast<uint64_t>(sessions));
    if (op == "session.get") return sb::test::packJson({{"id", id}, {"last", 10}});
    return sb::test::packJson(
        {{"id", id}, {"messages", {{{"role", "user"}, {"content", "hello from the benchmark"}}}}});
  };
  auto t0 = SteadyClock::now();
  auto measure_from = t0 + 1s;  // warm-up
  auto end = measure_from + std::chrono::seconds(seconds);
  double cpu0 = -1, cpu1 = -1;
  while (SteadyClock::now() < end || !pending.empty()) {
    if (cpu0 < 0 && SteadyClock::now() >= measure_from) cpu0 = cpuOf(pids);
    if (cpu1 < 0 && SteadyClock::now() >= end) cpu1 = cpuOf(pids);
    while (SteadyClock::now() < end && pending.size() < static_cast<size_t>(callers)) {
      pending[client.send("session", op, body(n++), o)] = SteadyClock::now();
    }
    auto in = client.next(100ms);
    if (!in || !sb::proto::isFinal(in->kind)) continue;
    auto it = pending.find(in->id);
    if (it == pending.end()) continue;
    auto now = SteadyClock::now();
    if (it->second >= measure_from && now <= end) {
      ++done;
      lat.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      if (in->kind == sb::proto::Kind::kError) ++r.errors;
    }
    pending.erase(it);
  }
  r.rps = static_cast<double>(done) / seconds;
  if (done > 0 && cpu0 >= 0 && cpu1 >= 0)
    r.cpu_us = (cpu1 - cpu0) * 1e6 / static_cast<double>(done);
  r.p50_ms = sb::bench::percentile(lat, 50);
  r.p99_ms = sb::bench::percentile(lat, 99);
  return r;
}

// redis-benchmark's GET and SET: requests/s from its -q output, and CPU per request of
// redis-benchmark (a reaped child) and the servers, over both tests.
struct Baseline {
  double get = 0, set = 0;
  double cpu_us = 0;
};

double childrenCpu() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

Baseline redisBenchmark(std::vector<std::string> args, const std::vector<pid_t>& servers,
                        double requests) {
  double cpu0 = childrenCpu() + cpuOf(servers);
  Process p = Process::startSystem("redis-benchmark", args);
  p.awaitExit(600s);
  double cpu = childrenCpu() + cpuOf(servers) - cpu0;
  std::string out = p.log();
  auto grab = [&](const char* name) {
    std::smatch m;
    std::regex re(std::string(name) + R"(: ([0-9.]+) requests per second)");
    return std::regex_search(out, m, re) ? std::stod(m[1]) : 0.0;
  };
  return {grab("GET"), grab("SET"), cpu * 1e6 / (2 * requests)};
}

void setup(sb::test::SessionBus& sb, int sessions) {
  for (int i = 0; i < sessions; ++i) {
    std::string id = "bench-" + std::to_string(i);
    sb.call("create", {{"id", id}});
    for (int k = 0; k < 10; ++k) {
      sb.call("append",
              {{"id", id}, {"messages", {{{"role", "user"}, {"content", "warm-up message"}}}}});
    }
  }
}

// One round: the baseline, then ours on the same server.
struct Round {
  Baseline rb;
  Rate get, append;
};

void report(const char* topology, const std::vector<Round>& rounds) {
  std::vector<double> get_ratio, append_ratio, cpu_ratio;
  std::printf("\n%s\n", topology);
  for (size_t i = 0; i < rounds.size(); ++i) {
    const Round& r = rounds[i];
    get_ratio.push_back(r.get.rps / r.rb.get);
    append_ratio.push_back(r.append.rps / r.rb.set);
    cpu_ratio.push_back(r.get.cpu_us / r.rb.cpu_us);
    std::printf(
        "  round %zu: redis-benchmark GET %s/s SET %s/s (%.1f us CPU each) | session.get %s/s "
        "p50 %.2f ms p99 %.2f ms errors %llu (%.1f us CPU each) | session.append %s/s p50 %.2f "
        "ms p99 %.2f ms errors %llu | ratios %.2f %.2f\n",
        i + 1, sb::bench::grouped(r.rb.get).c_str(), sb::bench::grouped(r.rb.set).c_str(),
        r.rb.cpu_us, sb::bench::grouped(r.get.rps).c_str(), r.get.p50_ms, r.get.p99_ms,
        static_cast<unsigned long long>(r.get.errors), r.get.cpu_us,
        sb::bench::grouped(r.append.rps).c_str(), r.append.p50_ms, r.append.p99_ms,
        static_cast<unsigned long long>(r.append.errors), get_ratio.back(), append_ratio.back());
  }
  std::printf(
      "  median ratios: session.get / GET %.2f (target >= 0.50), session.append / SET %.2f; CPU "
      "per session.get / per GET %.2f\n",
      sb::bench::median(get_ratio), sb::bench::median(append_ratio), sb::bench::median(cpu_ratio));
}

std::vector<Round> measure(sb::test::SessionBus& sb, const std::vector<std::string>& rb_args,
                           double rb_requests, std::vector<pid_t> servers, int runs, int seconds,
                           int callers, int sessions) {
  std::vector<pid_t> ours = servers;
  ours.push_back(sb.bus().router().pid());
  for (pid_t p : sb.sessionPids()) ours.push_back(p);
  std::vector<Round> rounds;
  for (int i = 0; i < runs; ++i) {
    Round r;
    r.rb = redisBenchmark(rb_args, servers, rb_requests);
    r.get = drive(sb, "session.get", callers, seconds, sessions, ours);
    r.append = drive(sb, "session.append", callers, seconds, sessions, ours);
    rounds.push_back(r);
  }
  return rounds;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 5, runs = 3, cluster_n = 5000000;
  bool skip_cluster = false;
  CLI::App app{"session.get and session.append against redis-benchmark GET and SET",
               "bench_session_throughput"};
  app.add_option("--seconds", seconds, "Measuring time per side and round")->capture_default_str();
  app.add_option("--runs", runs, "Paired rounds (the median is reported)")->capture_default_str();
  app.add_option("--cluster-n", cluster_n, "redis-benchmark --cluster request count")
      ->capture_default_str();
  app.add_flag("--skip-cluster", skip_cluster, "Only the single Redis");
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  const int callers = 50, sessions = 200;
  std::printf(
      "session_throughput: %d concurrent callers, %d sessions of 10+ messages, get = last 10, "
      "%d s per figure, %d rounds, %u CPUs\n",
      callers, sessions, seconds, runs, std::thread::hardware_concurrency());
  {
    sb::test::RedisServer redis;
    sb::test::SessionBus sb(
        {"--redis", redis.url(), "--max-messages", "50", "--log-level", "warn"});
    setup(sb, sessions);
    report("single redis-server", measure(sb,
                                          {"-p", std::to_string(redis.port()), "-c", "50", "-P",
                                           "1", "-t", "get,set", "-n", "300000", "-q"},
                                          300000, {redis.pid()}, runs, seconds, callers, sessions));
  }
  if (!skip_cluster) {
    sb::test::RedisCluster cluster(3, 1);
    std::vector<std::string> args{"--max-messages", "50", "--log-level", "warn"};
    for (const auto& u : cluster.seedUrls()) {
      args.push_back("--cluster");
      args.push_back(u);
    }
    sb::test::SessionBus sb(args);
    setup(sb, sessions);
    std::vector<pid_t> servers;
    for (const auto& n : cluster.nodes()) servers.push_back(n->pid());
    report("Redis Cluster, 3 masters + 3 replicas",
           measure(sb,
                   {"--cluster", "-p", std::to_string(cluster.nodes()[0]->port()), "-c", "50", "-P",
                    "1", "-t", "get,set", "-n", std::to_string(cluster_n), "-q"},
                   cluster_n, servers, runs, seconds, callers, sessions));
  }
  return 0;
}
