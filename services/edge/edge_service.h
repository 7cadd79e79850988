#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat_call.h"
#include "edge_config.h"
#include "edge_metrics.h"
#include "embeddings_request.h"
#include "model_directory.h"
#include "rate_limiter.h"
#include "sb/auth/api_keys.h"
#include "sb/bus/async_client.h"
#include "sb/http/http_server.h"

namespace sb::edge {

// The OpenAI-compatible HTTP API over the bus: POST /v1/chat/completions, GET /v1/models and
// /v1/models/{id}, CORS for browser front ends, errors in OpenAI's shape, one access-log line
// per request. Stateless: any number of edges can serve the same suite.
class EdgeService {
 public:
  using KeyPtr = std::shared_ptr<const auth::ApiKey>;
  using LeasePtr = std::shared_ptr<RateLimiter::Lease>;

  // `limiter`: where keys' limits are enforced (null: no key may have limits).
  EdgeService(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options,
              RateLimiter* limiter = nullptr);
  ~EdgeService();

  void start();
  // The API keys to accept from now on (requests in flight keep theirs); null: an open edge
  // that asks for no key.
  void setKeys(std::shared_ptr<const auth::KeyRing> keys) { keys_ = std::move(keys); }
  // Counts a reload of the key file (SIGHUP) that worked or did not.
  void keysReloaded(bool ok);
  // The TLS certificate now served (its notAfter), and reloads of it that worked or did not.
  void tlsCertificate(int64_t not_after);
  void tlsReloaded(bool ok);
  void handle(const http::ExchangePtr& ex);
  std::string metricsText();
  // The router answered the latest model-list refresh.
  bool routerAnswered() const { return models_.routerAnswered(); }

 private:
  // The request's key, or an error answer (true) when it has none or a wrong one.
  bool authenticate(const http::ExchangePtr& ex, const http::Headers& headers, KeyPtr& key);
  // Runs `go` once the key's limits let the request start (at once for a key without limits),
  // with the x-ratelimit-* headers added; answers 429 (or 503) itself otherwise.
  void admit(const http::ExchangePtr& ex, http::Headers headers, const KeyPtr& key,
             const std::string& model, std::function<void(http::Headers, const LeasePtr&)> go);
  void chatCompletions(const http::ExchangePtr& ex, const http::Headers& headers,
                       const std::string& request_id, const KeyPtr& key);
  void startChat(const http::ExchangePtr& ex, http::Headers headers, const std::string& request_id,
                 ChatCall::Request req, const LeasePtr& lease);
  void models(const http::ExchangePtr& ex, const http::Headers& headers, std::string id,
              const KeyPtr& key);
  void listModels(const http::ExchangePtr& ex, const http::Headers& headers, const std::string& id,
                  const std::vector<nlohmann::json>& chat, const std::vector<nlohmann::json>& embed,
                  const KeyPtr& key);
  void embeddings(const http::ExchangePtr& ex, const http::Headers& headers, const KeyPtr& key);
  void startEmbeddings(const http::ExchangePtr& ex, const http::Headers& headers,
                       const EmbeddingsRequest& req, const LeasePtr& lease);
  // Answers an embeddings request; the tokens it used.
  int64_t embedded(const http::ExchangePtr& ex, http::Headers headers, const std::string& model,
                   size_t inputs, bool base64, const Incoming& in);
  // The error, and its access-log line (`summary`: what is known of the request).
  void sendError(const http::ExchangePtr& ex, http::Headers headers, const HttpError& e,
                 const CallSummary& summary = {});
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
  RateLimiter* limiter_;
  std::shared_ptr<const auth::KeyRing> keys_;
  ModelDirectory models_;        // chat: the `infer` workers' models
  ModelDirectory embed_models_;  // the `embeddings` workers' models
  // Embeddings requests on the bus, by bus id: their exchanges' close hooks refer to us.
  std::unordered_map<uint64_t, http::ExchangePtr> embeds_;
  std::unordered_map<uint64_t, std::unique_ptr<ChatCall>> calls_;
  uint64_t next_call_ = 1;
  EdgeMetrics metrics_;
};

}  // namespace sb::edge
