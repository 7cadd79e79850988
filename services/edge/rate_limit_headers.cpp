#include "rate_limit_headers.h"

#include <cstdio>

namespace sb::edge {

std::string resetDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms > 0 && ms < 1000) return std::to_string(ms) + "ms";
  int64_t h = ms / 3600000, m = ms / 60000 % 60, rest = ms % 60000;
  char sec[32];
  if (rest % 1000 == 0) {
    std::snprintf(sec, sizeof(sec), "%llds", static_cast<long long>(rest / 1000));
  } else {
    std::snprintf(sec, sizeof(sec), "%.3f", static_cast<double>(rest) / 1000.0);
    std::string s = sec;
    while (s.back() == '0') s.pop_back();
    std::snprintf(sec, sizeof(sec), "%ss", s.c_str());
  }
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  return out + sec;
}

void addRateLimitHeaders(const Admission& a, http::Headers& headers) {
  if (!a.checked) return;
  if (a.limit_requests >= 0) {
    headers.emplace_back("x-ratelimit-limit-requests", std::to_string(a.limit_requests));
    headers.emplace_back("x-ratelimit-remaining-requests",
                         std::to_string(std::max<int64_t>(a.remaining_requests, 0)));
    headers.emplace_back("x-ratelimit-reset-requests", resetDuration(a.reset_requests_ms));
  }
  if (a.limit_tokens >= 0) {
    headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(a.limit_tokens));
    headers.emplace_back("x-ratelimit-remaining-tokens",
                         std::to_string(std::max<int64_t>(a.remaining_tokens, 0)));
    headers.emplace_back("x-ratelimit-reset-tokens", resetDuration(a.reset_tokens_ms));
  }
}

HttpError rateLimited(const Admission& a, const std::string& key_name) {
  std::string what =
      a.refused_by == "requests" ? "requests per minute (" + std::to_string(a.limit_requests) + ")"
      : a.refused_by == "tokens" ? "tokens per minute (" + std::to_string(a.limit_tokens) + ")"
                                 : "requests in flight at once";
  std::string message = "Rate limit reached for API key '" + key_name + "' on " + what + ".";
  if (a.refused_by != "concurrent") {
    message += " Please try again in " + resetDuration(a.retry_ms) + ".";
  }
  return {429, message, a.refused_by == "tokens" ? "tokens" : "requests", "rate_limit_exceeded",
          ""};
}

}  // namespace sb::edge
