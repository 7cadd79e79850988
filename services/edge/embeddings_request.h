#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openai_errors.h"

namespace sb::edge {

// A POST /v1/embeddings request as OpenAI defines it.
struct EmbeddingsRequest {
  std::string model;
  std::vector<std::string> inputs;  // `input` as a string is one input
  bool base64 = false;              // encoding_format "base64" (the SDKs' default) or "float"
  uint32_t dimensions = 0;          // 0: the model's own
};

struct EmbeddingsLimits {
  size_t max_inputs = 2048;
  size_t max_text_bytes = size_t{64} << 10;
};

// Reads the content type and JSON body: `input` a non-empty string or a non-empty array of
// non-empty strings (token ids are refused with a 400 that says so: no backend here takes
// them), `model`, `encoding_format`, `dimensions`; other fields (`user`) are ignored. Fills
// `out`, or returns the 4xx to answer. Pure, bounded, fuzzed.
std::optional<HttpError> parseEmbeddingsRequest(std::string_view content_type,
                                                std::string_view body,
                                                const EmbeddingsLimits& limits,
                                                EmbeddingsRequest& out);

}  // namespace sb::edge
