// The edge's series: routes and codes, and the OpenTelemetry gen-AI server histograms.
#include <gtest/gtest.h>

#include "edge_metrics.h"

namespace sb::edge {
namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(EdgeMetrics, ChatCountsTimeToFirstTokenAndTimePerOutputToken) {
  EdgeMetrics m;
  CallSummary s;
  s.model = "demo";
  s.completion_tokens = 11;
  s.first_token = Millis(300);
  m.finished("/v1/chat/completions", 200, s, 1.3);  // 10 tokens in the last second
  std::string t = m.text();
  EXPECT_TRUE(has(t, "sb_edge_http_requests_total{code=\"200\",route=\"chat_completions\"} 1"))
      << t;
  const std::string labels = "gen_ai_operation_name=\"chat\",gen_ai_request_model=\"demo\"";
  // 0.3 s falls in the le=0.5 bucket, not le=0.25.
  EXPECT_TRUE(
      has(t, "gen_ai_server_time_to_first_token_seconds_bucket{" + labels + ",le=\"0.25\"} 0"))
      << t;
  EXPECT_TRUE(
      has(t, "gen_ai_server_time_to_first_token_seconds_bucket{" + labels + ",le=\"0.5\"} 1"));
  EXPECT_TRUE(has(t, "gen_ai_server_time_per_output_token_seconds_sum{" + labels + "} 0.1")) << t;
  EXPECT_TRUE(has(t, "gen_ai_server_request_duration_seconds_count{" + labels + "} 1"));
}

TEST(EdgeMetrics, ErrorsCarryTheirTypeAndNoTokenTimes) {
  EdgeMetrics m;
  CallSummary s;
  s.model = "demo";
  m.finished("/v1/chat/completions", 503, s, 0.02);
  std::string t = m.text();
  EXPECT_TRUE(has(t,
                  "gen_ai_server_request_duration_seconds_count{error_type=\"503\","
                  "gen_ai_operation_name=\"chat\",gen_ai_request_model=\"demo\"} 1"))
      << t;
  EXPECT_EQ(t.find("gen_ai_server_time_to_first_token_seconds_count"), std::string::npos);
}

TEST(EdgeMetrics, RoutesAndModelLabelsAreBounded) {
  EdgeMetrics m;
  CallSummary s;
  for (int i = 0; i < 100; ++i) {
    s.model = "model-" + std::to_string(i);
    m.finished("/v1/embeddings", 200, s, 0.01);
    m.finished("/random/" + std::to_string(i), 404, {}, 0.001);
  }
  std::string t = m.text();
  EXPECT_TRUE(has(t, "sb_edge_http_requests_total{code=\"404\",route=\"other\"} 100")) << t;
  EXPECT_NE(t.find("gen_ai_request_model=\"model-63\""), std::string::npos);
  EXPECT_EQ(t.find("gen_ai_request_model=\"model-64\""), std::string::npos);
  EXPECT_TRUE(has(t,
                  "gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="
                  "\"embeddings\",gen_ai_request_model=\"other\"} 36"))
      << t;
}

}  // namespace
}  // namespace sb::edge
