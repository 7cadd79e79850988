#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sb {

// `size` bytes as lower-case hex, two digits each (digests as Redis and key files write them).
inline std::string lowerHex(const uint8_t* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace sb
