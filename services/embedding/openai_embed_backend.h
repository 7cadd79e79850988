#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "embed_backend.h"
#include "sb/core/event_loop.h"
#include "sb/http/http_client.h"

namespace sb::embedding {

struct OpenAiEmbedOptions {
  std::string base_url;  // "http://host:8080" or ".../v1": /v1/embeddings follows
  std::string api_key;   // sent as a Bearer token when set; never logged
  Millis connect_timeout{2000};
  size_t max_response = size_t{256} << 20;  // bytes of one answer
};

// Any OpenAI-compatible embeddings server (TEI, vLLM, Ollama, OpenAI): POST {base}/v1/embeddings
// with {model, input: [texts], encoding_format: "float", dimensions?}. The answer's data[] is
// put back in input order by `index`; usage.prompt_tokens is shared out over the texts in
// proportion to their length (servers report one total per call). An answer that is not one
// finite vector per text, all of one dimension (the one asked for, if any), is a failure.
class OpenAiEmbedBackend : public EmbedBackend {
 public:
  OpenAiEmbedBackend(EventLoop& loop, http::HttpClient& http, OpenAiEmbedOptions options);
  ~OpenAiEmbedBackend() override;
  CallId embed(const EmbedBatch& batch, Done done) override;
  void cancel(CallId id) override;
  std::string keyOptions() const override { return "openai/float"; }

 private:
  struct Call;
  void finish(CallId id, const http::Result& result);

  EventLoop& loop_;
  http::HttpClient& http_;
  OpenAiEmbedOptions options_;
  std::unordered_map<CallId, std::unique_ptr<Call>> calls_;
  CallId next_ = 1;
};

// Parses a /v1/embeddings answer for `batch` (exposed for tests and the fuzzer).
EmbedResult parseEmbeddingsAnswer(const std::string& body, const EmbedBatch& batch);

}  // namespace sb::embedding
