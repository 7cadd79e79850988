#include "api_auth.h"

#include <strings.h>

namespace sb::edge {

std::string presentedKey(const http::Exchange& ex) {
  std::string auth = ex.header("authorization");
  if (auth.size() > 7 && strncasecmp(auth.c_str(), "bearer ", 7) == 0) {
    size_t start = auth.find_first_not_of(' ', 7);
    size_t end = auth.find_last_not_of(" \t");
    if (start != std::string::npos) return auth.substr(start, end - start + 1);
  }
  return ex.header("api-key");
}

HttpError missingKey() {
  return {401,
          "You didn't provide an API key. Send it in an Authorization header using Bearer auth "
          "(Authorization: Bearer YOUR_KEY).",
          "invalid_request_error", "missing_api_key", ""};
}

HttpError invalidKey() {
  return {401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key", ""};
}

HttpError modelNotAllowed(const std::string& model, const std::string& key_name) {
  HttpError e{403, "The API key '" + key_name + "' may not use the model '" + model + "'.",
              "invalid_request_error", "model_not_allowed", "model"};
  e.final = true;
  return e;
}

HttpError modelHiddenFromKey(const std::string& model) {
  return {404, "The model '" + model + "' does not exist or this API key may not use it",
          "invalid_request_error", "model_not_found", "model"};
}

}  // namespace sb::edge
