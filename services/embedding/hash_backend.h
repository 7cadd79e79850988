#pragma once

#include <unordered_map>

#include "embed_backend.h"
#include "hash_embedder.h"
#include "sb/core/event_loop.h"

namespace sb::embedding {

// The hashing embedder as a backend: computed on the loop (microseconds per text), answered
// on the next round like any other backend.
class HashBackend : public EmbedBackend {
 public:
  HashBackend(EventLoop& loop, HashEmbedderOptions options);
  CallId embed(const EmbedBatch& batch, Done done) override;
  void cancel(CallId id) override { pending_.erase(id); }
  std::string keyOptions() const override;

 private:
  EventLoop& loop_;
  HashEmbedderOptions options_;
  std::unordered_map<CallId, LoopHandle> pending_;
  CallId next_ = 1;
};

}  // namespace sb::embedding
