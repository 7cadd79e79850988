// libFuzzer target: a POST /v1/embeddings request (content type and body). Never crashes; an
// accepted request has a model and 1..max inputs, each non-empty and within the byte limit;
// a refused one is a 4xx in OpenAI's shape.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "embeddings_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks the content type.
  static constexpr std::string_view kTypes[] = {"application/json", "text/plain",
                                                "application/json; charset=utf-8"};
  std::string_view type = kTypes[in.empty() ? 0 : static_cast<uint8_t>(in[0]) % 3];
  if (!in.empty()) in.remove_prefix(1);
  sb::edge::EmbeddingsLimits limits;
  limits.max_inputs = 8;
  limits.max_text_bytes = 64;
  sb::edge::EmbeddingsRequest req;
  auto err = sb::edge::parseEmbeddingsRequest(type, in, limits, req);
  if (err) {
    if (err->status < 400 || err->status > 499 || !err->body().contains("error")) std::abort();
    return 0;
  }
  if (req.model.empty() || req.inputs.empty() || req.inputs.size() > limits.max_inputs)
    std::abort();
  for (const auto& s : req.inputs) {
    if (s.empty() || s.size() > limits.max_text_bytes) std::abort();
  }
  return 0;
}
