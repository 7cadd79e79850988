#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace sb::embedding {

// One computed vector and the input tokens it cost, shared (never copied) between the memory
// tier, the computation that made it and every reply that carries it.
struct Embedding {
  std::vector<float> values;
  uint32_t tokens = 0;
};
using EmbeddingPtr = std::shared_ptr<const Embedding>;

// Where a reply's vector came from.
enum class Source : uint8_t { kMemory, kRedis, kComputed };
const char* sourceName(Source s);

}  // namespace sb::embedding
