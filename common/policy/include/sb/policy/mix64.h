#pragma once

#include <cstdint>

namespace sb {

// SplitMix64's finaliser: every input bit flips about half the output bits. Spreads a weak
// hash (FNV's low bits, a caller's key hash) over the whole word; fixed, so results built on
// it are the same on every build and host.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace sb
