#pragma once

#include <memory>
#include <string>

#include "openai_errors.h"
#include "sb/auth/api_keys.h"
#include "sb/http/http_server.h"

namespace sb::edge {

// The key a request presents: `Authorization: Bearer <key>` (the scheme in any case), or
// the `api-key` header Azure-style clients send. "" when there is none.
std::string presentedKey(const http::Exchange& ex);

// 401s as OpenAI words them (the SDKs raise their AuthenticationError), never echoing the key.
HttpError missingKey();
HttpError invalidKey();
// 403 for a model the key may not use; a retry cannot fix it (x-should-retry: false).
HttpError modelNotAllowed(const std::string& model, const std::string& key_name);
// 404 for GET /v1/models/ID when the key may not use ID: as OpenAI answers it, the same
// whether or not the model exists.
HttpError modelHiddenFromKey(const std::string& model);

}  // namespace sb::edge
