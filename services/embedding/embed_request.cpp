#include "embed_request.h"

#include "sb/proto/body_fields.h"

namespace sb::embedding {

proto::Status parseEmbedRequest(const msgpack::object& body, std::string_view header_model,
                                const RequestLimits& limits, EmbedRequest& out) {
  proto::BodyFields f(body);
  bool has_model = false, has_inputs = false, has_dims = false;
  f.str("model", out.model, has_model, 256);
  f.strings("inputs", out.inputs, has_inputs, limits.max_inputs, limits.max_text_bytes);
  uint64_t dims = 0;
  f.uint("dimensions", dims, has_dims, 1, limits.max_dimensions);
  if (!f.ok()) return f.status();
  if (!has_model || out.model.empty()) out.model = std::string(header_model);
  if (out.model.empty()) return {proto::ErrorCode::kInvalidArgument, "'model' is required"};
  if (!has_inputs || out.inputs.empty())
    return {proto::ErrorCode::kInvalidArgument, "'inputs' must be a non-empty array of strings"};
  for (size_t i = 0; i < out.inputs.size(); ++i) {
    if (out.inputs[i].empty())
      return {proto::ErrorCode::kInvalidArgument,
              "'inputs[" + std::to_string(i) + "]' is empty: there is nothing to embed"};
  }
  out.dimensions = static_cast<uint32_t>(dims);
  return {};
}

}  // namespace sb::embedding
