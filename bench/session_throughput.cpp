// session.get / session.append through router + sb-session with 50 concurrent callers, against
// redis-benchmark -c 50 -P 1 -t get,set on the same Redis in the same run; single Redis and a
// 3-master cluster (redis-benchmark --cluster, -n 5 million as short runs are mis-timed).
//
//   bench_session_throughput [--seconds S] [--cluster-n N] [--skip-cluster 1]
#include <cstdio>
#include <regex>
#include <thread>

#include "args.h"
#include "process.h"
#include "redis.h"
#include "sb/common/client.h"
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
};

// `callers` requests always in flight from one client (each a caller waiting for its answer).
Rate drive(sb::test::SessionBus& sb, const std::string& op, int callers, int seconds,
           int sessions) {
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
  while (SteadyClock::now() < end || !pending.empty()) {
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
  r.p50_ms = sb::bench::percentile(lat, 50);
  r.p99_ms = sb::bench::percentile(lat, 99);
  return r;
}

// redis-benchmark's requests/s for GET and SET, from its -q output.
std::pair<double, double> redisBenchmark(std::vector<std::string> args) {
  Process p = Process::startSystem("redis-benchmark", args);
  p.awaitExit(600s);
  std::string out = p.log();
  auto grab = [&](const char* name) {
    std::smatch m;
    std::regex re(std::string(name) + R"(: ([0-9.]+) requests per second)");
    return std::regex_search(out, m, re) ? std::stod(m[1]) : 0.0;
  };
  return {grab("GET"), grab("SET")};
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

void report(const char* topology, const Rate& get, const Rate& append,
            std::pair<double, double> rb) {
  std::printf("\n%s\n", topology);
  std::printf("  redis-benchmark -c 50 -P 1   GET %9s/s   SET %9s/s\n",
              sb::bench::grouped(rb.first).c_str(), sb::bench::grouped(rb.second).c_str());
  std::printf(
      "  session.get    (bus, 50)  %9s/s  p50 %.2f ms  p99 %.2f ms  errors %llu  ratio to GET %.2f "
      "(target >= 0.50)\n",
      sb::bench::grouped(get.rps).c_str(), get.p50_ms, get.p99_ms,
      static_cast<unsigned long long>(get.errors), get.rps / rb.first);
  std::printf(
      "  session.append (bus, 50)  %9s/s  p50 %.2f ms  p99 %.2f ms  errors %llu  ratio to SET "
      "%.2f\n",
      sb::bench::grouped(append.rps).c_str(), append.p50_ms, append.p99_ms,
      static_cast<unsigned long long>(append.errors), append.rps / rb.second);
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = static_cast<int>(sb::bench::flag(argc, argv, "--seconds", 5));
  int cluster_n = static_cast<int>(sb::bench::flag(argc, argv, "--cluster-n", 5000000));
  bool skip_cluster = sb::bench::flag(argc, argv, "--skip-cluster", 0) != 0;
  const int callers = 50, sessions = 200;
  std::printf(
      "session_throughput: %d concurrent callers, %d sessions of 10+ messages, get = last 10, "
      "%d s per figure, %u CPUs\n",
      callers, sessions, seconds, std::thread::hardware_concurrency());
  {
    sb::test::RedisServer redis;
    sb::test::SessionBus sb(
        {"--redis", redis.url(), "--max-messages", "50", "--log-level", "warn"});
    setup(sb, sessions);
    std::vector<std::string> rb_args{
        "-p", std::to_string(redis.port()), "-c", "50", "-P", "1", "-t", "get,set", "-n", "300000",
        "-q"};
    // The baseline before and after our figures, averaged: the machine drifts.
    auto before = redisBenchmark(rb_args);
    Rate get = drive(sb, "session.get", callers, seconds, sessions);
    Rate append = drive(sb, "session.append", callers, seconds, sessions);
    auto after = redisBenchmark(rb_args);
    report("single redis-server", get, append,
           {(before.first + after.first) / 2, (before.second + after.second) / 2});
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
    Rate get = drive(sb, "session.get", callers, seconds, sessions);
    Rate append = drive(sb, "session.append", callers, seconds, sessions);
    auto rb =
        redisBenchmark({"--cluster", "-p", std::to_string(cluster.nodes()[0]->port()), "-c", "50",
                        "-P", "1", "-t", "get,set", "-n", std::to_string(cluster_n), "-q"});
    report("Redis Cluster, 3 masters + 3 replicas", get, append, rb);
  }
  return 0;
}
