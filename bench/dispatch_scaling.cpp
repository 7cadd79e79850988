// Horizontal scaling of inference: the demo backend streams at a fixed rate per stream with a
// fixed max_conns per dispatch process, and more streams are offered than one process can take.
// With 1, 2, 3, 4 sb-inference-dispatch processes, how many streams run at full rate at once?
// (Tokens per second over all streams, divided by the per-stream rate.) Ideal: k x max_conns.
//
//   bench_dispatch_scaling [--seconds S] [--max-conns N] [--rate TOKENS_PER_S] [--offered N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bus.h"
#include "sb/bus/async_client.h"
#include "session_bus.h"

using namespace std::chrono_literals;
using sb::SteadyClock;
using sb::test::Process;

namespace {

struct Round {
  int instances = 0;
  double tokens_per_s = 0;
  double streams_at_full_rate = 0;
  uint64_t streams_done = 0;
  uint64_t errors = 0;
};

Round measure(sb::test::Bus& bus, int instances, int offered, int seconds, int tokens) {
  sb::EventLoop loop;
  sb::AsyncClient client(bus.context(), loop, {bus.frontend()});
  std::string body = sb::test::packJson(
      {{"messages", {{{"role", "user"}, {"content", "scaling"}}}}, {"max_tokens", tokens}});
  Round r;
  r.instances = instances;
  uint64_t chunks = 0;
  bool counting = false;
  auto end = SteadyClock::now() + std::chrono::seconds(seconds + 2);
  std::function<void()> one = [&] {
    sb::CallOptions o;
    o.deadline = 120s;
    client.send("infer", "chat", body, o, [&](const sb::Incoming& in) {
      if (in.kind == sb::proto::Kind::kChunk) {
        if (counting) ++chunks;
        return;
      }
      if (in.kind == sb::proto::Kind::kError) ++r.errors;
      if (counting) ++r.streams_done;
      if (SteadyClock::now() < end) one();
    });
  };
  for (int i = 0; i < offered; ++i) one();
  // Two seconds to fill every backend slot, then the measured window.
  auto warm = SteadyClock::now() + 2s;
  while (SteadyClock::now() < warm) loop.runOnce(5ms);
  counting = true;
  auto t0 = SteadyClock::now();
  while (SteadyClock::now() < end) loop.runOnce(5ms);
  double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  r.tokens_per_s = static_cast<double>(chunks) / s;
  // Let the streams in flight finish (their callbacks reference this frame).
  counting = false;
  while (client.inflight() > 0) loop.runOnce(5ms);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 8, max_conns = 8, rate = 20, offered = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-conns")) max_conns = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rate")) rate = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--offered")) offered = std::atoi(argv[i + 1]);
  }
  int tokens = rate * 2;  // two-second streams
  std::printf(
      "demo backend: %d tokens/s per stream, max_conns %d per process, %d streams "
      "offered, %d-token streams, %d s measured\n",
      rate, max_conns, offered, tokens, seconds);
  sb::test::Bus bus({"--queue-size", "4096"});
  std::vector<Process> workers;
  std::vector<Round> rounds;
  for (int k = 1; k <= 4; ++k) {
    std::string name = "infer-" + std::to_string(k);
    std::string backend = "kind=demo,models=demo,max_conns=" + std::to_string(max_conns);
    workers.push_back(Process::start(
        "sb-inference-dispatch",
        {"--router", bus.backend(), "--name", name, "--llm-backend", backend,
         "--demo-tokens-per-second", std::to_string(rate), "--demo-first-token-ms", "0"}));
    if (!workers.back().awaitReady(10s)) {
      std::fprintf(stderr, "%s did not start: %s\n", name.c_str(), workers.back().log().c_str());
      return 1;
    }
    rounds.push_back(measure(bus, k, offered, seconds, tokens));
    Round& r = rounds.back();
    r.streams_at_full_rate = r.tokens_per_s / rate;
    std::printf(
        "%d dispatch process(es): %7.1f tokens/s = %5.1f streams at full rate (ideal %d), "
        "%llu streams done, %llu errors\n",
        k, r.tokens_per_s, r.streams_at_full_rate, std::min(k * max_conns, offered),
        static_cast<unsigned long long>(r.streams_done), static_cast<unsigned long long>(r.errors));
  }
  std::printf("scaling 1 -> 4 processes: %.2fx concurrent streams at full rate (ideal 4.00x)\n",
              rounds[3].streams_at_full_rate / rounds[0].streams_at_full_rate);
  return 0;
}
