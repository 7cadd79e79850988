#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rate_limiter.h"
#include "sb/bus/curve.h"
#include "sb/core/clock.h"
#include "sb/core/options.h"
#include "sb/http/http_server.h"
#include "sb/redis/slot_client.h"

namespace sb::edge {

struct EdgeOptions {
  std::vector<std::string> routers = {"tcp://127.0.0.1:5555"};
  Millis request_timeout{600000};    // a chat request's deadline on the bus
  Millis embeddings_timeout{60000};  // an embeddings request's deadline on the bus
  Millis keepalive{15000};           // SSE comment interval while waiting for the first token
  Millis models_refresh{2000};
  Millis retry_after{1000};               // suggested to clients on 429 and 503
  Millis drain_timeout{60000};            // longest wait for requests in flight on SIGTERM
  uint32_t history = 50;                  // stored messages sent as context in a session turn
  std::vector<std::string> cors_origins;  // "*" for any
  bool access_log = true;
};

struct EdgeConfig {
  http::ServerOptions http;
  EdgeOptions edge;
  CommonOptions common;
  std::string api_keys;   // the key file; "" = an open edge
  CurveClientKeys curve;  // towards the routers
  // Where keys' limits are kept (shared by every edge); unset: no key may have limits.
  std::optional<redis::SlotClientOptions> redis;
  RateLimiterOptions limits;
};

std::optional<int> parseEdgeConfig(int argc, char** argv, EdgeConfig& config);
int runEdge(EdgeConfig& config);

}  // namespace sb::edge
