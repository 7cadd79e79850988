// What the dispatch worker costs a backend between two requests, this build against an
// earlier one (--baseline-bin DIR: the keep-alive change is measured as before/after) and
// against HAProxy queueing in front of the same backend, in one run. The backend (fast_llm)
// serves one request at a time, like a GPU slot: its first token after --first-token-ms, the
// rest --rest-ms later.
//   1. time to first token at one request in flight (bus client -> router -> dispatch);
//   2. the hand-off gap with 8 requests waiting: from the backend's last byte to its next
//      request (the dispatch worker has capacity 1, so the router holds the queue), and the
//      share of requests that opened a new connection;
//   3. request latency under Poisson arrivals at 90 % of the backend's capacity.
//
//   bench_backend_handoff [--baseline-bin DIR] [--seconds S] [--first-token-ms N] [--rest-ms N]
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>
#include <unordered_map>

#include "bus.h"
#include "fast_llm.h"
#include "nginx_peer.h"
#include "sb/core/config.h"
#include "sb/core/json_body.h"
#include "session_bus.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::test::Process;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kBody =
    sb::test::packJson({{"model", "fast"},
                        {"messages", {{{"role", "user"}, {"content", "hello"}}}},
                        {"max_tokens", 5}});

struct Figures {
  std::vector<double> ttft_us, gap_us, latency_ms;
  double service_ms = 0;       // the backend's mean time per answer, during the gap figure
  double new_connections = 0;  // per request, during the gap figure
  uint64_t errors = 0;
};

void ttft(sb::Client& client, int n, Figures& f) {
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    bool first = true;
    auto r = client.call("infer", "chat", kBody, {}, [&](const sb::Incoming&) {
      if (!first) return;
      first = false;
      f.ttft_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    });
    if (!r.status.ok()) ++f.errors;
  }
}

// `depth` requests always waiting; the backend records its idle gaps.
void saturate(sb::Client& client, sb::bench::FastLlm& backend, int seconds, int depth, Figures& f) {
  backend.take();
  int open = 0;
  auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end || open > 0) {
    while (Clock::now() < end && open < depth) {
      client.send("infer", "chat", kBody);
      ++open;
    }
    auto in = client.next(50ms);
    if (in && sb::proto::isFinal(in->kind)) {
      --open;
      if (in->kind == sb::proto::Kind::kError) ++f.errors;
    }
  }
  auto s = backend.take();
  f.gap_us = std::move(s.gaps_us);
  f.new_connections = s.requests ? static_cast<double>(s.connections) / s.requests : 0;
  f.service_ms = s.answered ? s.busy_us / 1000.0 / static_cast<double>(s.answered) : 0;
}

// Open loop: Poisson arrivals at `rate` per second for `seconds`; whole-request latency.
void poisson(sb::Client& client, double rate, int seconds, Figures& f) {
  std::mt19937_64 rng(42);  // the same arrivals for every build
  std::exponential_distribution<double> gap(rate);
  std::unordered_map<uint64_t, Clock::time_point> sent;
  auto t0 = Clock::now(), end = t0 + std::chrono::seconds(seconds);
  auto next_send = t0;
  while (Clock::now() < end || !sent.empty()) {
    auto now = Clock::now();
    if (now >= next_send && now < end) {
      sent[client.send("infer", "chat", kBody)] = now;
      next_send +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
      continue;
    }
    auto in = client.next(1ms);
    if (!in || !sb::proto::isFinal(in->kind)) continue;
    auto it = sent.find(in->id);
    if (it == sent.end()) continue;
    if (in->kind == sb::proto::Kind::kError) ++f.errors;
    f.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
    sent.erase(it);
  }
}

// `rate_per_s` 0: 90 % of the backend's capacity as measured by the gap figure of this build.
Figures measureBuild(sb::bench::FastLlm& backend, int seconds, double& rate_per_s) {
  sb::test::Bus bus({"--log-level", "warn", "--queue-size", "4096"});
  Process d = Process::start("sb-inference-dispatch",
                             {"--router", bus.backend(), "--log-level", "warn", "--llm-backend",
                              "kind=openai,url=" + backend.base() + ",models=fast,max_conns=1"});
  if (!d.awaitReady(10s)) throw std::runtime_error("dispatch did not start: " + d.log());
  sb::Client client(bus.context(), bus.frontend());
  Figures f;
  ttft(client, 20, f);  // warm-up
  f = {};
  ttft(client, 300, f);
  saturate(client, backend, seconds, 8, f);
  if (rate_per_s == 0) rate_per_s = 0.9 * 1000.0 / f.service_ms;
  poisson(client, rate_per_s, seconds * 2, f);
  return f;
}

// HAProxy in front of the same backend, one connection to it (maxconn 1), queueing the rest;
// wrk keeps 8 requests waiting.
Figures measureHaproxy(sb::bench::FastLlm& backend, int seconds) {
  int port = sb::bench::freePort();
  std::string dir = sb::test::tempDir();
  std::string cfg = dir + "/haproxy.cfg";
  std::ofstream(cfg) << "defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n"
                     << "  timeout server 60s\n  timeout queue 60s\n  http-reuse always\n"
                     << "frontend fe\n  bind 127.0.0.1:" << port << "\n  default_backend llm\n"
                     << "backend llm\n  server s1 127.0.0.1:" << backend.port() << " maxconn 1\n";
  Process h = Process::startSystem("haproxy", {"-db", "-f", cfg});
  sb::bench::awaitListening(port, 10);
  std::string script = dir + "/post.lua";
  std::ofstream(script) << "wrk.method = \"POST\"\nwrk.body = "
                        << "'{\"model\":\"fast\",\"stream\":true,\"max_tokens\":5,"
                        << "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n"
                        << "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
  backend.take();
  std::string cmd = "wrk -t1 -c8 -d" + std::to_string(seconds) + "s -s " + script +
                    " http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions" + " > " +
                    dir + "/wrk-haproxy.txt 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("wrk failed");
  auto s = backend.take();
  Figures f;
  f.gap_us = std::move(s.gaps_us);
  f.new_connections = s.requests ? static_cast<double>(s.connections) / s.requests : 0;
  return f;
}

void row(const char* name, const Figures& f) {
  using sb::bench::percentile;
  std::printf("  %-10s %8.0f %8.0f %9.0f %9.0f %8.1f%% %9.1f %9.1f %6llu\n", name,
              percentile(f.ttft_us, 50), percentile(f.ttft_us, 99), percentile(f.gap_us, 50),
              percentile(f.gap_us, 99), 100 * f.new_connections, percentile(f.latency_ms, 50),
              percentile(f.latency_ms, 99), static_cast<unsigned long long>(f.errors));
}
// (HAProxy's row has only the gap: its TTFT and Poisson figures are not measured.)

}  // namespace

int main(int argc, char** argv) {
  std::string baseline;
  int seconds = 10, first_ms = 5, rest_ms = 20;
  CLI::App app{"Backend hand-off gap and time to first token through the dispatch worker",
               "bench_backend_handoff"};
  app.add_option("--baseline-bin", baseline, "Also measure the binaries in DIR (before/after)");
  app.add_option("--seconds", seconds,
                 "Length of the gap figure (the Poisson one runs twice as long)")
      ->capture_default_str();
  app.add_option("--first-token-ms", first_ms, "Backend: time to first token")
      ->capture_default_str();
  app.add_option("--rest-ms", rest_ms, "Backend: time from the first token to the end")
      ->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  sb::bench::FastLlm backend(
      {5, std::chrono::milliseconds(first_ms), std::chrono::milliseconds(rest_ms)});
  double rate = 0;
  Figures now = measureBuild(backend, seconds, rate);
  Figures before;
  if (!baseline.empty()) {
    setenv("SB_TEST_BIN_DIR", baseline.c_str(), 1);
    before = measureBuild(backend, seconds, rate);
    unsetenv("SB_TEST_BIN_DIR");
  }
  std::printf(
      "backend_handoff: %u CPUs; backend one request at a time, %d + %d ms (measured "
      "%.2f ms per answer); Poisson arrivals at %.0f/s (90 %% of that)\n",
      std::thread::hardware_concurrency(), first_ms, rest_ms, now.service_ms, rate);
  Figures haproxy = measureHaproxy(backend, seconds);
  std::printf("\n  %-10s %8s %8s %9s %9s %9s %9s %9s %6s\n", "", "TTFT p50", "p99", "gap p50",
              "gap p99", "new conn", "lat p50", "lat p99", "errors");
  std::printf("  %-10s %8s %8s %9s %9s %9s %9s %9s\n", "", "(us)", "(us)", "(us)", "(us)", "",
              "(ms)", "(ms)");
  if (!baseline.empty()) row("before", before);
  row("this", now);
  row("haproxy", haproxy);
  if (!baseline.empty()) {
    using sb::bench::percentile;
    std::printf("\n  this/before: TTFT p50 %.2f, gap p50 %.2f, latency p50 at 90 %% load %.2f\n",
                percentile(now.ttft_us, 50) / percentile(before.ttft_us, 50),
                percentile(now.gap_us, 50) / percentile(before.gap_us, 50),
                percentile(now.latency_ms, 50) / percentile(before.latency_ms, 50));
  }
  return 0;
}
