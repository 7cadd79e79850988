#pragma once

#include <string>

#include "chat_call.h"
#include "sb/metrics/gen_ai.h"
#include "sb/metrics/metrics.h"

namespace sb::edge {

// The edge's series: HTTP requests by route and status, their duration, and the
// OpenTelemetry gen-AI server metrics as a chat front end sees them (time to first token,
// request duration, time per output token), by operation and requested model.
class EdgeMetrics {
 public:
  // One request ended. `path` its URL path, `status` the status sent (499: the client left
  // first), `seconds` from its arrival to the end.
  void finished(const std::string& path, int status, const CallSummary& s, double seconds);
  std::string text() { return registry_.render(); }
  MetricsRegistry& registry() { return registry_; }

 private:
  MetricsRegistry registry_;
  BoundedLabel model_label_;
};

// The route label of a path: chat_completions, embeddings, models or other.
std::string routeOf(const std::string& path);

}  // namespace sb::edge
