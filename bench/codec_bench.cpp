// Micro-benchmark of the header codec on the router's hot path (Google Benchmark).
#include <benchmark/benchmark.h>

#include "sb/proto/header_codec.h"

namespace {

std::string requestFrame() {
  sb::proto::Header h;
  h.kind = sb::proto::Kind::kRequest;
  h.id = 123456;
  h.service = "session";
  h.op = "append";
  h.model = "llama-3-8b";
  h.deadline_ms = 30000;
  return sb::proto::encodeHeader(h);
}

void BM_DecodeHeader(benchmark::State& state) {
  std::string frame = requestFrame();
  sb::proto::Limits limits;
  sb::proto::Header h;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sb::proto::decodeHeader(frame, limits, h));
  }
}
BENCHMARK(BM_DecodeHeader);

void BM_EncodeHeader(benchmark::State& state) {
  sb::proto::Header h;
  h.kind = sb::proto::Kind::kReply;
  h.id = 123456;
  std::string out;
  for (auto _ : state) {
    out.clear();
    sb::proto::encodeHeaderInto(h, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeHeader);

}  // namespace
