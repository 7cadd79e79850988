// The edge's rate-limit answers: durations as OpenAI's x-ratelimit-reset-* write them, the
// headers for the limits a key has, and the 429's body.
#include <gtest/gtest.h>

#include "rate_limit_headers.h"

namespace sb::edge {
namespace {

std::string header(const http::Headers& h, const std::string& name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<none>";
}

TEST(RateLimitHeaders, DurationsAreWrittenAsOpenAiWritesThem) {
  EXPECT_EQ(resetDuration(0), "0s");
  EXPECT_EQ(resetDuration(-5), "0s");
  EXPECT_EQ(resetDuration(20), "20ms");
  EXPECT_EQ(resetDuration(999), "999ms");
  EXPECT_EQ(resetDuration(1000), "1s");
  EXPECT_EQ(resetDuration(1500), "1.5s");
  EXPECT_EQ(resetDuration(1234), "1.234s");
  EXPECT_EQ(resetDuration(59000), "59s");
  EXPECT_EQ(resetDuration(360000), "6m0s");
  EXPECT_EQ(resetDuration(61500), "1m1.5s");
  EXPECT_EQ(resetDuration(3600000), "1h0m0s");
  EXPECT_EQ(resetDuration(3723000), "1h2m3s");
}

TEST(RateLimitHeaders, OnlyTheLimitsTheKeyHasAreSent) {
  Admission a;
  a.checked = true;
  a.limit_requests = 60;
  a.remaining_requests = 59;
  a.reset_requests_ms = 1000;
  http::Headers h;
  addRateLimitHeaders(a, h);
  EXPECT_EQ(header(h, "x-ratelimit-limit-requests"), "60");
  EXPECT_EQ(header(h, "x-ratelimit-remaining-requests"), "59");
  EXPECT_EQ(header(h, "x-ratelimit-reset-requests"), "1s");
  EXPECT_EQ(header(h, "x-ratelimit-limit-tokens"), "<none>");
  a.limit_tokens = 1000;
  a.remaining_tokens = -3;  // in debt after a long answer: shown as none left
  a.reset_tokens_ms = 90000;
  h.clear();
  addRateLimitHeaders(a, h);
  EXPECT_EQ(header(h, "x-ratelimit-remaining-tokens"), "0");
  EXPECT_EQ(header(h, "x-ratelimit-reset-tokens"), "1m30s");
  // Redis did not answer: no figures are made up.
  a.checked = false;
  h.clear();
  addRateLimitHeaders(a, h);
  EXPECT_TRUE(h.empty());
}

TEST(RateLimitHeaders, The429NamesTheKeyAndTheLimitAndWhenToComeBack) {
  Admission a;
  a.checked = true;
  a.allowed = false;
  a.refused_by = "requests";
  a.limit_requests = 30;
  a.retry_ms = 1500;
  HttpError e = rateLimited(a, "alice");
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.type, "requests");
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  EXPECT_NE(e.message.find("'alice'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("requests per minute (30)"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("try again in 1.5s"), std::string::npos) << e.message;
  a.refused_by = "tokens";
  a.limit_tokens = 500;
  EXPECT_EQ(rateLimited(a, "alice").type, "tokens");
  a.refused_by = "concurrent";
  EXPECT_NE(rateLimited(a, "alice").message.find("in flight"), std::string::npos);
  // A retryable 429 carries Retry-After (whole seconds, rounded up) and retry-after-ms.
  http::Headers h;
  addErrorHeaders(rateLimited(a, "alice"), Millis(1500), h);
  EXPECT_EQ(header(h, "Retry-After"), "2");
  EXPECT_EQ(header(h, "retry-after-ms"), "1500");
  EXPECT_EQ(header(h, "x-should-retry"), "<none>");
}

}  // namespace
}  // namespace sb::edge
