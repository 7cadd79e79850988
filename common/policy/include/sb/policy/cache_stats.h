#pragma once

#include <cstdint>

namespace sb {

// Counters shared by the byte-bounded caches, so a benchmark can print both the same way.
struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;      // entries removed to make room (a declined candidate is one)
  uint64_t evicted_bytes = 0;  // their weights
  uint64_t rejected = 0;       // puts heavier than the whole budget, and declined candidates
};

}  // namespace sb
