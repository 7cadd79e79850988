#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat_call.h"
#include "edge_config.h"
#include "edge_metrics.h"
#include "model_directory.h"
#include "sb/bus/async_client.h"
#include "sb/http/http_server.h"

namespace sb::edge {

// The OpenAI-compatible HTTP API over the bus: POST /v1/chat/completions, GET /v1/models and
// /v1/models/{id}, CORS for browser front ends, errors in OpenAI's shape, one access-log line
// per request. Stateless: any number of edges can serve the same suite.
class EdgeService {
 public:
  EdgeService(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options);
  ~EdgeService();

  void start();
  void handle(const http::ExchangePtr& ex);
  std::string metricsText();
  // The router answered the latest model-list refresh.
  bool routerAnswered() const { return models_.routerAnswered(); }

 private:
  void chatCompletions(const http::ExchangePtr& ex, const http::Headers& headers,
                       const std::string& request_id);
  void models(const http::ExchangePtr& ex, const http::Headers& headers, std::string id);
  void listModels(const http::ExchangePtr& ex, const http::Headers& headers, const std::string& id,
                  const std::vector<nlohmann::json>& chat,
                  const std::vector<nlohmann::json>& embed);
  void embeddings(const http::ExchangePtr& ex, const http::Headers& headers);
  void embedded(const http::ExchangePtr& ex, http::Headers headers, const std::string& model,
                size_t inputs, bool base64, const Incoming& in);
  void sendError(const http::ExchangePtr& ex, http::Headers headers, const HttpError& e);
  void sendJson(const http::ExchangePtr& ex, int status, http::Headers headers,
                const nlohmann::json& body);
  // Access-Control-* headers for the request's Origin, when it is allowed.
  void cors(const http::ExchangePtr& ex, http::Headers& headers) const;
  void preflight(const http::ExchangePtr& ex, http::Headers headers);
  // The request ended: its access-log line (unless turned off) and its metrics.
  void accessLog(const http::ExchangePtr& ex, const CallSummary& s);
  std::string newRequestId();

  EventLoop& loop_;
  AsyncClient& bus_;
  const EdgeOptions& options_;
  ModelDirectory models_;        // chat: the `infer` workers' models
  ModelDirectory embed_models_;  // the `embeddings` workers' models
  // Embeddings requests on the bus, by bus id: their exchanges' close hooks refer to us.
  std::unordered_map<uint64_t, http::ExchangePtr> embeds_;
  std::unordered_map<uint64_t, std::unique_ptr<ChatCall>> calls_;
  uint64_t next_call_ = 1;
  EdgeMetrics metrics_;
};

}  // namespace sb::edge
