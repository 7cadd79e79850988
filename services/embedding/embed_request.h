#pragma once

#include <string>
#include <vector>

#include <msgpack.hpp>

#include "sb/proto/status.h"

namespace sb::embedding {

struct RequestLimits {
  size_t max_inputs = 2048;                  // texts in one request (OpenAI's own limit)
  size_t max_text_bytes = size_t{64} << 10;  // one text
  uint32_t max_dimensions = 16384;
};

// The body of an `embed` request: {model, inputs: [text, ...], dimensions?} (PROTOCOL.md §10).
struct EmbedRequest {
  std::string model;
  std::vector<std::string> inputs;
  uint32_t dimensions = 0;  // 0: the model's own
};

// Reads and checks a decoded body (the header's model stands in for a body without one).
// INVALID_ARGUMENT names the field and the limit it broke.
proto::Status parseEmbedRequest(const msgpack::object& body, std::string_view header_model,
                                const RequestLimits& limits, EmbedRequest& out);

}  // namespace sb::embedding
