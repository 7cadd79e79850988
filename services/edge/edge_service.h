#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat_call.h"
#include "edge_config.h"
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

 private:
  void chatCompletions(const http::ExchangePtr& ex, const http::Headers& headers,
                       const std::string& request_id);
  void models(const http::ExchangePtr& ex, const http::Headers& headers, std::string id);
  void sendError(const http::ExchangePtr& ex, http::Headers headers, const HttpError& e);
  void sendJson(const http::ExchangePtr& ex, int status, http::Headers headers,
                const nlohmann::json& body);
  // Access-Control-* headers for the request's Origin, when it is allowed.
  void cors(const http::ExchangePtr& ex, http::Headers& headers) const;
  void preflight(const http::ExchangePtr& ex, http::Headers headers);
  void accessLog(const http::ExchangePtr& ex, const CallSummary& s) const;
  std::string newRequestId();

  EventLoop& loop_;
  AsyncClient& bus_;
  const EdgeOptions& options_;
  ModelDirectory models_;
  std::unordered_map<uint64_t, std::unique_ptr<ChatCall>> calls_;
  uint64_t next_call_ = 1;
};

}  // namespace sb::edge
