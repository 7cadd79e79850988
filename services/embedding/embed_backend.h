#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "embedding.h"
#include "sb/proto/status.h"

namespace sb::embedding {

// One batched call: texts of one model and dimension setting.
struct EmbedBatch {
  std::string model;
  uint32_t dimensions = 0;  // 0: the model's own
  std::vector<std::string> texts;
};

// How a batch call ended. UNAVAILABLE: the backend's fault or load (no connection, 5xx, 408,
// 429, a broken answer): tried elsewhere and counted against it. INVALID_ARGUMENT: the
// request's fault (another 4xx): not retried, not counted.
struct EmbedResult {
  proto::Status status;
  std::vector<Embedding> vectors;  // one per text, in order, when status is OK
};

// An embedding server (the built-in hasher, an OpenAI-compatible /v1/embeddings). Runs on the
// process's event loop; `done` runs once, later (never inside embed()), unless cancelled.
class EmbedBackend {
 public:
  using CallId = uint64_t;
  using Done = std::function<void(EmbedResult&&)>;
  virtual ~EmbedBackend() = default;
  virtual CallId embed(const EmbedBatch& batch, Done done) = 0;
  virtual void cancel(CallId id) = 0;
  // Part of every cache key: what besides model, dimensions and text changes the vectors
  // this backend makes (its kind and settings).
  virtual std::string keyOptions() const = 0;
};

}  // namespace sb::embedding
