#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb {

// TinyLFU's approximate access counter (Caffeine's FrequencySketch): a count-min sketch of
// 4-bit counters, 16 to a 64-bit word, four rows. The caller hashes the key; the sketch mixes
// that hash again so a weak one (an identity hash of integers) still spreads.
//
// Counters saturate at 15: admission only needs to rank "popular" against "not", and small
// counters keep the sketch at 8 bytes per expected entry. After sampleSize() counted increments
// every counter is halved (the "reset"), so the sketch forgets old popularity and follows a
// workload that drifts.
class CountMinSketch {
 public:
  static constexpr uint32_t kMaxFrequency = 15;

  // Sized for about `expected_entries` distinct keys in the cache (at least one).
  explicit CountMinSketch(size_t expected_entries);

  // Counts one access to the key with this hash.
  void increment(uint64_t hash);
  // The estimated access count of the key, 0..15; never below the true (post-reset) count.
  uint32_t frequency(uint64_t hash) const;

  // Increments that raised at least one counter since the last reset.
  size_t additions() const { return additions_; }
  size_t sampleSize() const { return sample_size_; }
  size_t widthWords() const { return table_.size(); }

 private:
  // The four (word, counter) cells of a key.
  struct Cells {
    size_t word[4];
    uint32_t shift[4];  // bit offset of the 4-bit counter inside its word
  };
  Cells cellsOf(uint64_t hash) const;
  void reset();

  std::vector<uint64_t> table_;
  uint64_t mask_;
  size_t sample_size_;
  size_t additions_ = 0;
};

}  // namespace sb
