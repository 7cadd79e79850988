#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::embedding {

// Everything besides the text that changes a vector: the model, the dimensions asked for
// (0: the model's own) and the backend's options (its kind and settings, plus an operator's
// namespace), so a change to any of them is a different key.
struct KeySpace {
  std::string model;
  uint32_t dimensions = 0;
  std::string options;
};

using Digest = std::array<uint8_t, 32>;

// SHA-256 (OpenSSL's libcrypto) over a domain tag and every field of the space and the text,
// each preceded by its length, so no two different inputs hash the same bytes.
Digest cacheDigest(const KeySpace& space, std::string_view text);
std::string toHex(const Digest& d);
// The first 8 bytes, for hash tables and the frequency sketch (the digest is uniform).
uint64_t digestHash(const Digest& d);
inline std::string_view digestBytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Redis keys: the value at prefix{hex} and the computation lease at prefix{hex}:lease. The
// hash tag is the digest, so a value and its lease share a slot (one script sees both) while
// keys spread evenly over every slot and node.
std::string valueKey(std::string_view prefix, const Digest& d);
std::string leaseKey(std::string_view prefix, const Digest& d);

}  // namespace sb::embedding
