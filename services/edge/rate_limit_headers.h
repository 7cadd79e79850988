#pragma once

#include <cstdint>
#include <string>

#include "openai_errors.h"
#include "rate_limiter.h"
#include "sb/http/http_server.h"

namespace sb::edge {

// A duration as OpenAI's x-ratelimit-reset-* headers write it (Go's style): "20ms", "1s",
// "1.5s", "6m0s", "1h0m0s".
std::string resetDuration(int64_t ms);

// x-ratelimit-limit-requests, -remaining-requests, -reset-requests and the same for tokens,
// for the limits the key has (nothing when Redis was not asked or did not answer).
void addRateLimitHeaders(const Admission& a, http::Headers& headers);

// The 429 for a refused admission (type "requests" or "tokens" as OpenAI's), naming the key
// and the limit, never the key itself.
HttpError rateLimited(const Admission& a, const std::string& key_name);

}  // namespace sb::edge
