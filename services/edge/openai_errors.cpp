#include "openai_errors.h"

namespace sb::edge {

using json = nlohmann::json;
using proto::ErrorCode;

json HttpError::body() const {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

bool HttpError::retryable() const {
  return status == 408 || status == 409 || status == 429 || status == 503 || status == 504;
}

void addErrorHeaders(const HttpError& e, Millis retry_after, http::Headers& headers) {
  if (e.status == 429 || e.status == 503) {
    headers.emplace_back("Retry-After", std::to_string((retry_after.count() + 999) / 1000));
    headers.emplace_back("retry-after-ms", std::to_string(retry_after.count()));
  }
  if (e.final || (!e.retryable() && (e.status >= 500 || e.status == 409)))
    headers.emplace_back("x-should-retry", "false");
  if (e.status == 413 || e.status == 415) headers.emplace_back("Connection", "close");
}

HttpError invalidRequest(std::string message, std::string param, std::string code) {
  return {400, std::move(message), "invalid_request_error", std::move(code), std::move(param)};
}

HttpError modelNotFound(const std::string& model, const std::string& workers) {
  return {404, "The model '" + model + "' is not served here: no live " + workers + " has it",
          "invalid_request_error", "model_not_found", "model"};
}

HttpError fromStatus(const proto::Status& st) {
  switch (st.code) {
    case ErrorCode::kInvalidArgument:
      return {400, st.message, "invalid_request_error", "invalid_request", ""};
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
      // About this edge's own standing on the bus (its CURVE key taken out of a router's
      // list), not about the caller's API key: an operator's problem, which the caller must
      // not take for a fault of their key.
      return {503, "This server may not reach its services at the moment (" + st.message + ")",
              "server_error", "service_unavailable", ""};
    case ErrorCode::kNotFound:
      return {404, st.message, "invalid_request_error", "not_found", ""};
    case ErrorCode::kFailedPrecondition:
      return {409, st.message, "invalid_request_error", "conflict", ""};
    case ErrorCode::kResourceExhausted:
      return {429, st.message, "rate_limit_error", "rate_limit_exceeded", ""};
    case ErrorCode::kCancelled:
      return {499, st.message, "invalid_request_error", "cancelled", ""};
    case ErrorCode::kUnimplemented:
      return {501, st.message, "invalid_request_error", "unimplemented", ""};
    case ErrorCode::kUnavailable:
      return {503, st.message, "server_error", "service_unavailable", ""};
    case ErrorCode::kDeadlineExceeded:
      return {504, st.message, "timeout", "timeout", ""};
    default:
      return {500, st.message, "server_error", "internal_error", ""};
  }
}

}  // namespace sb::edge
