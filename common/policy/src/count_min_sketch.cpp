#include "sb/policy/count_min_sketch.h"

#include <algorithm>
#include <bit>

#include "sb/policy/mix64.h"

namespace sb {
namespace {

// One odd multiplier per row, so the rows pick (nearly) independent words.
constexpr uint64_t kRowSeeds[4] = {0xc3a5c85c97cb3127ULL, 0xb492b66fbe98f273ULL,
                                   0x9ae16a3b2f90404fULL, 0xcbf29ce484222325ULL};

// Low bit of every 4-bit counter, and every counter with its top bit cleared.
constexpr uint64_t kOnes = 0x1111111111111111ULL;
constexpr uint64_t kHalfMask = 0x7777777777777777ULL;

}  // namespace

CountMinSketch::CountMinSketch(size_t expected_entries) {
  size_t n = std::max<size_t>(expected_entries, 1);
  // One word (16 counters) per expected entry, as Caffeine: each entry takes 4 of them, which
  // keeps collisions rare enough for a ranking that only compares two keys.
  table_.assign(std::bit_ceil(n), 0);
  mask_ = table_.size() - 1;
  sample_size_ = 10 * n;
}

CountMinSketch::Cells CountMinSketch::cellsOf(uint64_t hash) const {
  uint64_t h = mix64(hash);
  // The top two bits choose one group of four counters; row i uses counter i of that group, so
  // the rows of one key never share a counter even when they land on the same word.
  uint32_t group = static_cast<uint32_t>(h >> 62) * 4;
  Cells c;
  for (int i = 0; i < 4; ++i) {
    uint64_t x = (h + kRowSeeds[i]) * kRowSeeds[i];
    x ^= x >> 32;
    c.word[i] = static_cast<size_t>(x & mask_);
    c.shift[i] = (group + static_cast<uint32_t>(i)) * 4;
  }
  return c;
}

void CountMinSketch::increment(uint64_t hash) {
  Cells c = cellsOf(hash);
  bool added = false;
  for (int i = 0; i < 4; ++i) {
    uint64_t& w = table_[c.word[i]];
    if (((w >> c.shift[i]) & 0xF) != kMaxFrequency) {
      w += uint64_t{1} << c.shift[i];
      added = true;
    }
  }
  // Saturated keys do not count toward the sample: a single very hot key must not trigger
  // resets on its own and wipe everyone else's history.
  if (added && ++additions_ >= sample_size_) reset();
}

uint32_t CountMinSketch::frequency(uint64_t hash) const {
  Cells c = cellsOf(hash);
  uint32_t f = kMaxFrequency;
  for (int i = 0; i < 4; ++i) {
    f = std::min(f, static_cast<uint32_t>((table_[c.word[i]] >> c.shift[i]) & 0xF));
  }
  return f;
}

void CountMinSketch::reset() {
  size_t odd = 0;
  for (uint64_t& w : table_) {
    odd += static_cast<size_t>(std::popcount(w & kOnes));
    w = (w >> 1) & kHalfMask;
  }
  // Halving drops half a count from every odd counter; with four counters per key that is
  // about odd/4 whole increments lost beyond the halving itself.
  size_t half = additions_ / 2;
  additions_ = half - std::min(half, odd / 4);
}

}  // namespace sb
