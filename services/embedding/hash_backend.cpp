#include "hash_backend.h"

#include <cstdio>

namespace sb::embedding {

HashBackend::HashBackend(EventLoop& loop, HashEmbedderOptions options)
    : loop_(loop), options_(options) {}

EmbedBackend::CallId HashBackend::embed(const EmbedBatch& batch, Done done) {
  EmbedResult result;
  result.vectors.reserve(batch.texts.size());
  for (const auto& t : batch.texts)
    result.vectors.push_back(hashEmbed(t, batch.dimensions, options_));
  CallId id = next_++;
  pending_.emplace(id, loop_.after(std::chrono::nanoseconds(0), [this, id, r = std::move(result),
                                                                 d = std::move(done)]() mutable {
    pending_.erase(id);
    d(std::move(r));
  }));
  return id;
}

std::string HashBackend::keyOptions() const {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "hash/v1/d=%u/n=%u/w=%g/g=%g", options_.dimensions,
                options_.ngram, static_cast<double>(options_.word_weight),
                static_cast<double>(options_.ngram_weight));
  return buf;
}

}  // namespace sb::embedding
