#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sb/core/clock.h"
#include "sb/http/http_server.h"
#include "sb/proto/status.h"

namespace sb::edge {

// An error as OpenAI answers it: the HTTP status and {"error": {message, type, param, code}}.
struct HttpError {
  int status = 500;
  std::string message;
  std::string type = "server_error";
  std::string code;    // "" -> null
  std::string param;   // "" -> null
  bool final = false;  // a retry cannot fix it, whatever the status: x-should-retry: false
  nlohmann::json body() const;
  // Whether the official SDKs should retry it (sent as x-should-retry for 5xx that cannot
  // succeed again, and 409s).
  bool retryable() const;
};

// The headers an error answer carries besides its body: Retry-After and retry-after-ms on 429
// and 503 (the SDKs wait that long before their retry), x-should-retry: false on the 5xx and
// 409 that a retry cannot fix, Connection: close after a body that was not read (413, 415).
void addErrorHeaders(const HttpError& e, Millis retry_after, http::Headers& headers);

HttpError invalidRequest(std::string message, std::string param = "",
                         std::string code = "invalid_request");
// `workers` names who would serve it ("inference worker", "embedding worker").
HttpError modelNotFound(const std::string& model, const std::string& workers = "inference worker");
// The HTTP status and type a bus error stands for: INVALID_ARGUMENT 400, NOT_FOUND 404,
// FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE
// 503, DEADLINE_EXCEEDED 504, the rest 500; UNAUTHENTICATED and PERMISSION_DENIED 503 (they are
// about the edge's own key on the bus).
HttpError fromStatus(const proto::Status& status);

}  // namespace sb::edge
