// libFuzzer target: whatever parses must render into text that parses again, holds every
// sample that was not reported dropped, and renders back to itself (the output is a fixed
// point). Build: clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "exposition.h"

namespace {

size_t sampleCount(const std::vector<sb::health::Family>& families) {
  size_t n = 0;
  for (const auto& family : families) n += family.samples.size();
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sb::health::ExpositionLimits;
  using sb::health::Family;
  using sb::health::MergeStats;
  using sb::health::Source;

  // Small limits so the limit paths are reached too.
  ExpositionLimits limits;
  limits.max_bytes = 16 << 10;
  limits.max_lines = 256;
  limits.max_labels = 8;
  limits.max_line = 1024;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<Family> families;
  if (parseExposition(text, limits, families)) return 0;
  const size_t parsed = sampleCount(families);

  std::vector<Source> sources;
  sources.push_back(Source{{{"instance", "fuzz-1"}}, std::move(families)});
  MergeStats stats;
  const std::string rendered = renderMerged(sources, &stats);

  // The output is ours: only the byte budget may exceed the input's limits.
  ExpositionLimits unlimited;
  unlimited.max_bytes = std::numeric_limits<size_t>::max();
  unlimited.max_lines = std::numeric_limits<size_t>::max();
  unlimited.max_labels = std::numeric_limits<size_t>::max();
  unlimited.max_line = std::numeric_limits<size_t>::max();
  std::vector<Family> again;
  if (parseExposition(rendered, unlimited, again)) __builtin_trap();
  if (stats.dropped_samples > parsed) __builtin_trap();
  if (sampleCount(again) != parsed - stats.dropped_samples) __builtin_trap();

  // Everything written carries the extra label.
  for (const Family& family : again) {
    for (const auto& sample : family.samples) {
      bool found = false;
      for (const auto& [name, value] : sample.labels) {
        if (name == "instance" && value == "fuzz-1") found = true;
      }
      if (!found) __builtin_trap();
    }
  }

  std::vector<Source> once_more;
  once_more.push_back(Source{{}, std::move(again)});
  MergeStats stats_again;
  if (renderMerged(once_more, &stats_again) != rendered) __builtin_trap();
  if (stats_again.dropped_families != 0 || stats_again.dropped_samples != 0) __builtin_trap();
  return 0;
}
