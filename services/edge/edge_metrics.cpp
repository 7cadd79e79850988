#include "edge_metrics.h"

namespace sb::edge {

std::string routeOf(const std::string& path) {
  if (path == "/v1/chat/completions" || path == "/chat/completions") return "chat_completions";
  if (path == "/v1/embeddings" || path == "/embeddings") return "embeddings";
  if (path.rfind("/v1/models", 0) == 0 || path.rfind("/models", 0) == 0) return "models";
  return "other";
}

void EdgeMetrics::finished(const std::string& path, int status, const CallSummary& s,
                           double seconds) {
  std::string route = routeOf(path);
  registry_
      .counter("sb_edge_http_requests_total", "HTTP requests answered, by route and status",
               {{"route", route}, {"code", std::to_string(status)}})
      .inc();
  registry_
      .histogram("sb_edge_http_request_duration_seconds",
                 "From a request's arrival to its last byte, by route",
                 MetricsRegistry::latencyBuckets(), {{"route", route}})
      .observe(seconds);
  if ((route != "chat_completions" && route != "embeddings") || s.model == "-") return;
  Labels labels{{"gen_ai_operation_name", route == "embeddings" ? "embeddings" : "chat"},
                {"gen_ai_request_model", model_label_(s.model)}};
  bool ok = status >= 200 && status < 300;
  Labels with_error = labels;
  if (!ok) with_error.emplace_back("error_type", std::to_string(status));
  registry_
      .histogram("gen_ai_server_request_duration_seconds",
                 "From request to the last byte of the answer (or the error)",
                 gen_ai::durationBuckets(), with_error)
      .observe(seconds);
  if (!ok || s.first_token.count() < 0) return;
  double ttft = std::chrono::duration<double>(s.first_token).count();
  registry_
      .histogram("gen_ai_server_time_to_first_token_seconds",
                 "From request to the first generated token sent", gen_ai::firstTokenBuckets(),
                 labels)
      .observe(ttft);
  if (s.completion_tokens > 1 && seconds > ttft) {
    registry_
        .histogram("gen_ai_server_time_per_output_token_seconds",
                   "Time per output token after the first", gen_ai::perOutputTokenBuckets(), labels)
        .observe((seconds - ttft) / static_cast<double>(s.completion_tokens - 1));
  }
}

}  // namespace sb::edge
