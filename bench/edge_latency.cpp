// What the HTTP edge adds to a short non-streamed chat completion, against nginx as a reverse
// proxy in front of the same fast backend, measured in the same run:
//   1. latency at one request in flight: direct to the backend, through nginx, through
//      sb-edge -> sb-router -> sb-inference-dispatch; added p50 / p99 of each over direct
//      (rounds alternate the three so drift on the shared machine hits all alike);
//   2. requests per second under wrk (Debian's) with many connections, and the CPU each
//      path spends per request.
//
//   bench_edge_latency [--rounds N] [--per-round N] [--wrk-seconds S] [--wrk-connections N]
#include <array>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <thread>

#include "bus.h"
#include "fast_llm.h"
#include "http_probe.h"
#include "nginx_peer.h"
#include "sb/core/config.h"
#include "sb/core/json_body.h"
#include "session_bus.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::test::Process;

namespace {

const std::string kBody =
    R"({"model":"fast","messages":[{"role":"user","content":"hello"}],"max_tokens":5})";

// One way to the backend. `http_port` 0: not HTTP (the bus client, no wrk figure).
struct Target {
  const char* name;
  int http_port;
  std::vector<pid_t> pids;    // whose CPU the path costs
  std::function<bool()> one;  // one request; false if it failed
  std::vector<double> us{};
  uint64_t failures = 0;
};

std::function<bool()> overHttp(int port) {
  auto probe = std::make_shared<sb::bench::HttpProbe>(port);
  return [probe] {
    auto r = probe->post("/v1/chat/completions", kBody);
    return r.status == 200 && r.body.find("tok tok") != std::string::npos;
  };
}

// The same chat through the router and dispatch from a bus client: what the edge adds on top.
std::function<bool()> overBus(sb::test::Bus& bus) {
  std::shared_ptr<sb::Client> client = bus.client();
  return [client] {
    auto r = client->call("infer", "chat", sb::test::packJson(nlohmann::json::parse(kBody)), {});
    return r.status.ok() && !r.chunks.empty();
  };
}

void measure(Target& t, int n) {
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    bool ok = t.one();
    auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0);
    if (ok) {
      t.us.push_back(us.count());
    } else {
      ++t.failures;
    }
  }
}

double cpuOf(const std::vector<pid_t>& pids) {
  double s = 0;
  for (pid_t p : pids) s += sb::bench::cpuSeconds(p);
  return s;
}

struct WrkResult {
  double rps = 0;
  long non_2xx = 0;
  double cpu_us_per_request = 0;
};

WrkResult runWrk(const Target& t, int seconds, int connections) {
  std::string script = sb::test::tempDir() + "/post.lua";
  std::ofstream(script) << "wrk.method = \"POST\"\nwrk.body = '" << kBody
                        << "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";
  std::string out_path = sb::test::tempDir() + "/wrk-" + t.name + ".txt";
  std::string cmd = "wrk -t1 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) +
                    "s -s " + script + " http://127.0.0.1:" + std::to_string(t.http_port) +
                    "/v1/chat/completions > " + out_path + " 2>&1";
  double cpu0 = cpuOf(t.pids);
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("wrk failed: " + cmd);
  double cpu = cpuOf(t.pids) - cpu0;
  std::ifstream in(out_path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  WrkResult r;
  std::smatch m;
  if (std::regex_search(text, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    r.rps = std::stod(m[1]);
  }
  if (std::regex_search(text, m, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) {
    r.non_2xx = std::stol(m[1]);
  }
  if (r.rps > 0) r.cpu_us_per_request = cpu * 1e6 / (r.rps * seconds);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 10, per_round = 300, wrk_seconds = 5, wrk_connections = 32;
  CLI::App app{"Latency and throughput added by sb-edge, against nginx", "bench_edge_latency"};
  app.add_option("--rounds", rounds, "Alternating rounds of the latency figure")
      ->capture_default_str();
  app.add_option("--per-round", per_round, "Requests per target per round")->capture_default_str();
  app.add_option("--wrk-seconds", wrk_seconds, "Length of each wrk run")->capture_default_str();
  app.add_option("--wrk-connections", wrk_connections, "wrk connections")->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;

  sb::bench::FastLlm backend;
  sb::test::Bus bus({"--log-level", "warn"});
  Process dispatch =
      Process::start("sb-inference-dispatch",
                     {"--router", bus.backend(), "--capacity", "256", "--llm-backend",
                      "kind=openai,url=" + backend.base() + ",models=fast,max_conns=256"});
  if (!dispatch.awaitReady(10s)) throw std::runtime_error("dispatch did not start");
  Process edge = Process::start("sb-edge", {"--router", bus.frontend(), "--listen", "127.0.0.1:0"});
  auto edge_port = edge.awaitReady(10s);
  if (!edge_port) throw std::runtime_error("edge did not start: " + edge.log());
  sb::bench::NginxPeer nginx(backend.port());

  int edge_http = std::stoi(*edge_port);
  std::array<Target, 4> targets{
      Target{"direct", backend.port(), {getpid()}, overHttp(backend.port())},
      Target{"nginx", nginx.port(), {nginx.pid(), getpid()}, overHttp(nginx.port())},
      Target{"bus", 0, {}, overBus(bus)},
      Target{"edge",
             edge_http,
             {edge.pid(), bus.router().pid(), dispatch.pid(), getpid()},
             overHttp(edge_http)}};
  std::printf("edge_latency: %u CPUs, %d rounds x %d requests per target, wrk %d s x %d conns\n",
              std::thread::hardware_concurrency(), rounds, per_round, wrk_seconds, wrk_connections);
  for (auto& t : targets) {
    measure(t, 200);  // warm-up: connections, caches, the model directory
    t.us.clear();
    t.failures = 0;
  }
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < targets.size(); ++i)
      measure(targets[(i + r) % targets.size()], per_round);
  }
  double d50 = sb::bench::percentile(targets[0].us, 50),
         d99 = sb::bench::percentile(targets[0].us, 99);
  std::printf("\nlatency of a 5-token non-streamed completion, one request in flight (us)\n");
  std::printf("  %-8s %9s %9s %12s %12s %9s\n", "path", "p50", "p99", "added p50", "added p99",
              "failures");
  for (auto& t : targets) {
    double p50 = sb::bench::percentile(t.us, 50), p99 = sb::bench::percentile(t.us, 99);
    std::printf("  %-8s %9.0f %9.0f %12.0f %12.0f %9llu\n", t.name, p50, p99, p50 - d50, p99 - d99,
                static_cast<unsigned long long>(t.failures));
  }
  double edge_added = sb::bench::percentile(targets[3].us, 50) - d50;
  double nginx_added = sb::bench::percentile(targets[1].us, 50) - d50;
  std::printf("  edge added p50 / nginx added p50: %.2f; target: edge added p50 <= 1,000 us\n",
              nginx_added > 0 ? edge_added / nginx_added : 0.0);

  std::printf("\nthroughput under wrk (-t1 -c%d), same request\n", wrk_connections);
  std::printf("  %-8s %12s %9s %22s\n", "path", "requests/s", "non-2xx", "CPU per request (us)");
  std::printf("  ('bus': an sb::Client -> sb-router -> sb-inference-dispatch, without the edge)\n");
  std::array<WrkResult, 4> w;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!targets[i].http_port) continue;
    w[i] = runWrk(targets[i], wrk_seconds, wrk_connections);
    std::printf("  %-8s %12s %9ld %22.1f\n", targets[i].name, sb::bench::grouped(w[i].rps).c_str(),
                w[i].non_2xx, w[i].cpu_us_per_request);
  }
  std::printf(
      "  (CPU counts the proxy's processes and this one, which runs the backend;\n"
      "   wrk's own CPU is not counted)\n");
  std::printf("  edge / nginx requests/s: %.2f\n", w[1].rps > 0 ? w[3].rps / w[1].rps : 0.0);
  return 0;
}
