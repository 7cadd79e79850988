// Tokens streamed through router + sb-inference-dispatch (demo backend), against the demo
// backend's own rate in this process; then 1,000 concurrent streams at 20 tokens/s each: CPU
// per 1,000 tokens and peak RSS of the router and the dispatch process.
//
//   bench_inference_stream [--seconds S] [--streams N] [--slow-streams N]
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "bus.h"
#include "demo_backend.h"
#include "sb/core/config.h"
#include "sb/core/json_body.h"
#include "session_bus.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::SteadyClock;
using sb::test::Process;

namespace {

std::string chatBody(int max_tokens) {
  return sb::test::packJson(
      {{"messages", {{{"role", "user"}, {"content", "benchmark"}}}}, {"max_tokens", max_tokens}});
}

// The demo backend alone, in this process: tokens per second with `streams` streams at once.
double demoInProcess(int streams, int seconds) {
  sb::EventLoop loop;
  sb::inference::DemoBackend demo(loop, {0ms, 1e9, 64, 1000000});
  uint64_t tokens = 0;
  auto end = SteadyClock::now() + std::chrono::seconds(seconds);
  std::function<void()> one = [&] {
    sb::inference::ChatRequest req{
        "demo", {{"messages", {{{"role", "user"}, {"content", "b"}}}}, {"max_tokens", 1000}}};
    demo.start(req, {[&](const sb::inference::ChatDelta&) { ++tokens; },
                     [&](const sb::inference::ChatOutcome&) {
                       if (SteadyClock::now() < end) one();
                     }});
  };
  for (int i = 0; i < streams; ++i) one();
  auto t0 = SteadyClock::now();
  while (SteadyClock::now() < end) loop.runOnce(1ms);
  return static_cast<double>(tokens) /
         std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

struct Relay {
  double tokens_per_s = 0;
  uint64_t errors = 0;
};

// `streams` streams always open through the bus, each 1,000 tokens; chunks counted as tokens.
Relay throughBus(sb::test::Bus& bus, int streams, int seconds, int tokens_per_stream) {
  sb::Client client(bus.context(), bus.frontend());
  sb::CallOptions o;
  o.deadline = 60s;
  Relay r;
  int open = 0;
  uint64_t tokens = 0;
  auto t0 = SteadyClock::now();
  auto end = t0 + std::chrono::seconds(seconds);
  while (SteadyClock::now() < end || open > 0) {
    while (SteadyClock::now() < end && open < streams) {
      client.send("infer", "chat", chatBody(tokens_per_stream), o);
      ++open;
    }
    auto in = client.next(100ms);
    if (!in) continue;
    if (in->kind == sb::proto::Kind::kChunk && SteadyClock::now() < end) ++tokens;
    if (sb::proto::isFinal(in->kind)) {
      --open;
      if (in->kind == sb::proto::Kind::kError) ++r.errors;
    }
  }
  r.tokens_per_s = static_cast<double>(tokens) / seconds;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 5, streams = 64, slow = 1000;
  CLI::App app{"Tokens relayed through router and dispatch, and the cost of many slow streams",
               "bench_inference_stream"};
  app.add_option("--seconds", seconds, "Measuring time per figure")->capture_default_str();
  app.add_option("--streams", streams, "Fast streams at once")->capture_default_str();
  app.add_option("--slow-streams", slow, "Slow streams at once (20 tokens/s each)")
      ->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  std::printf("inference_stream: %u CPUs, %d s per figure\n", std::thread::hardware_concurrency(),
              seconds);
  double alone = demoInProcess(streams, seconds);
  double relayed = 0;
  uint64_t errors = 0;
  {
    sb::test::Bus bus({"--log-level", "warn"});
    Process d = Process::start(
        "sb-inference-dispatch",
        {"--router", bus.backend(), "--log-level", "warn", "--demo-first-token-ms", "0",
         "--demo-tokens-per-second", "1000000000", "--llm-backend", "kind=demo,max_conns=256"});
    d.awaitReady(10s);
    Relay r = throughBus(bus, streams, seconds, 1000);
    relayed = r.tokens_per_s;
    errors = r.errors;
  }
  std::printf("\nrelayed tokens, %d streams open, 1,000 tokens each, one chunk per token\n",
              streams);
  std::printf("  demo backend alone, in process  %12s tokens/s\n",
              sb::bench::grouped(alone).c_str());
  std::printf("  through router + dispatch       %12s tokens/s  errors %llu\n",
              sb::bench::grouped(relayed).c_str(), static_cast<unsigned long long>(errors));
  std::printf("  ratio %.2f; target >= 200,000 tokens/s relayed\n", relayed / alone);

  // Many slow streams: what 1,000 concurrent chats cost.
  sb::test::Bus bus({"--log-level", "warn", "--queue-size", "4096"});
  Process d = Process::start("sb-inference-dispatch",
                             {"--router", bus.backend(), "--log-level", "warn",
                              "--demo-first-token-ms", "200", "--demo-tokens-per-second", "20",
                              "--llm-backend", "kind=demo,max_conns=" + std::to_string(slow)});
  d.awaitReady(10s);
  pid_t router = bus.router().pid(), dispatch = d.pid();
  // Warm up to full concurrency, then measure.
  sb::Client client(bus.context(), bus.frontend());
  sb::CallOptions o;
  o.deadline = 120s;
  for (int i = 0; i < slow; ++i) client.send("infer", "chat", chatBody(100000), o);
  auto warm_until = SteadyClock::now() + 2s;
  while (SteadyClock::now() < warm_until) client.next(10ms);
  double cpu0 = sb::bench::cpuSeconds(router) + sb::bench::cpuSeconds(dispatch);
  uint64_t tokens = 0, errors_slow = 0;
  auto t0 = SteadyClock::now();
  auto end = t0 + std::chrono::seconds(seconds * 2);
  while (SteadyClock::now() < end) {
    auto in = client.next(50ms);
    if (!in) continue;
    if (in->kind == sb::proto::Kind::kChunk) ++tokens;
    if (in->kind == sb::proto::Kind::kError) ++errors_slow;
  }
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  double cpu = sb::bench::cpuSeconds(router) + sb::bench::cpuSeconds(dispatch) - cpu0;
  double rss_router = sb::bench::statusMb(router, "VmHWM:"),
         rss_dispatch = sb::bench::statusMb(dispatch, "VmHWM:");
  std::printf("\n%d concurrent streams at 20 tokens/s each\n", slow);
  std::printf("  tokens relayed %s/s (%s expected), errors %llu\n",
              sb::bench::grouped(static_cast<double>(tokens) / elapsed).c_str(),
              sb::bench::grouped(slow * 20.0).c_str(),
              static_cast<unsigned long long>(errors_slow));
  std::printf("  CPU per 1,000 tokens (router + dispatch): %.1f ms\n",
              tokens ? cpu * 1e6 / static_cast<double>(tokens) : 0.0);
  std::printf("  peak RSS: router %.1f MB + dispatch %.1f MB = %.1f MB (target < 200 MB)\n",
              rss_router, rss_dispatch, rss_router + rss_dispatch);
  return 0;
}
