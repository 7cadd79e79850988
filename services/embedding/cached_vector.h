#pragma once

#include <string>
#include <string_view>

#include "cache_key.h"
#include "embedding.h"

namespace sb::embedding {

// A vector as stored in Redis: "SBE1", dimension (u32), tokens (u32), an 8-byte check (the
// start of SHA-256 over the key's digest, the dimension, tokens and values), then the values
// as float32 little-endian. The check ties the value to its key, so a value written under the
// wrong key, truncated, or altered is refused, and so is any non-finite number.
std::string encodeCachedVector(const Digest& key, const Embedding& e);

// The vector, or nullptr with `why` set. `expected_dim` 0 accepts any dimension. Bounded: it
// reads only what `bytes` holds and refuses more than `max_dim` values.
EmbeddingPtr decodeCachedVector(std::string_view bytes, const Digest& key, uint32_t expected_dim,
                                std::string& why, uint32_t max_dim = 65536);

}  // namespace sb::embedding
