#pragma once

#include <cstdint>
#include <string_view>

#include "embedding.h"

namespace sb::embedding {

struct HashEmbedderOptions {
  uint32_t dimensions = 384;  // when a request asks for none
  uint32_t ngram = 3;         // character n-grams of each word, with word boundaries
  float word_weight = 1.0f;
  float ngram_weight = 0.5f;
};

// The built-in embedder: signed feature hashing (Weinberger et al.) of lower-cased word
// tokens and of the character n-grams of each word (marked "<word>") into `dimensions`
// buckets, then L2-normalised. Deterministic across runs, builds and hosts (a fixed 64-bit
// FNV-1a with a SplitMix64 finaliser, not std::hash). It is lexical, not semantic: texts
// sharing words and spellings score close, synonyms do not. Words are runs of ASCII letters
// and digits and of bytes >= 0x80 (so UTF-8 text of any script forms words); n-grams are of
// bytes. A text without any word is hashed whole, so no vector is zero. Tokens = words (at
// least 1).
Embedding hashEmbed(std::string_view text, uint32_t dimensions, const HashEmbedderOptions& o);

}  // namespace sb::embedding
