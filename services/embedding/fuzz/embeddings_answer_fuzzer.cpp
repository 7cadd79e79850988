// libFuzzer target: an embedding server's answer to POST /v1/embeddings. Never crashes; an
// answer it accepts gives one finite vector per input, all of one dimension (the one asked
// for), and at least one token per input.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "openai_embed_backend.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  sb::embedding::EmbedBatch batch;
  batch.model = "m";
  size_t n = in.empty() ? 1 : 1 + static_cast<uint8_t>(in[0]) % 3;
  batch.dimensions = in.size() > 1 && (in[1] & 1) ? 3 : 0;
  for (size_t i = 0; i < n; ++i) batch.texts.push_back("text " + std::to_string(i));
  auto r = sb::embedding::parseEmbeddingsAnswer(in.size() > 2 ? in.substr(2) : "", batch);
  if (!r.status.ok()) {
    if (r.status.message.empty()) std::abort();
    return 0;
  }
  if (r.vectors.size() != n) std::abort();
  size_t dim = r.vectors[0].values.size();
  if (dim == 0 || (batch.dimensions && dim != batch.dimensions)) std::abort();
  for (const auto& v : r.vectors) {
    if (v.values.size() != dim || v.tokens == 0) std::abort();
    for (float x : v.values) {
      if (!std::isfinite(x)) std::abort();
    }
  }
  return 0;
}
