// libFuzzer target: a value read from Redis, which anyone with access to Redis can write.
// Never crashes; a value it accepts has the dimension asked for, finite numbers only, and
// encodes back to exactly the bytes read (nothing else passes the check bytes).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cached_vector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sb::embedding::Digest key = sb::embedding::cacheDigest({"m", 0, "hash"}, "text");
  uint32_t expected = in.empty() ? 0 : static_cast<uint8_t>(in[0]) % 8;
  std::string why;
  auto e = sb::embedding::decodeCachedVector(in, key, expected, why, 4096);
  if (!e) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (expected && e->values.size() != expected) std::abort();
  for (float v : e->values) {
    if (!std::isfinite(v)) std::abort();
  }
  if (sb::embedding::encodeCachedVector(key, *e) != in) std::abort();
  return 0;
}
