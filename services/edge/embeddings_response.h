#pragma once

#include <string>
#include <string_view>

#include "sb/proto/status.h"

namespace sb::edge {

// What the access log and usage need from an answer.
struct EmbeddingsSummary {
  int64_t prompt_tokens = -1;
  size_t vectors = 0;
};

// The embedding cache's reply (PROTOCOL.md §10: vectors as float32 little-endian `bin`s) as
// OpenAI's answer: {"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
// "model", "usage"}. Each embedding is a JSON array of numbers (shortest text that reads back
// as the same float32), or with `base64` the standard base64 of the float32 little-endian
// bytes, as OpenAI sends them. A reply that is not well formed, or whose count does not match
// `inputs`, is an INTERNAL error.
proto::Status renderEmbeddings(std::string_view reply, size_t inputs, bool base64,
                               const std::string& model, std::string& out,
                               EmbeddingsSummary& summary);

}  // namespace sb::edge
