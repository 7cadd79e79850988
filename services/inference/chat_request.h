#pragma once

#include <string_view>

#include "chat_backend.h"
#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::inference {

// The body of an `infer` / `chat` request (PROTOCOL.md 6.2), checked: a msgpack map (bounded by
// `limits`) with a non-empty `messages` array. The model is the header's route tag, else the
// body's `model`; everything else goes to the backend as given. INVALID_ARGUMENT otherwise.
proto::Status parseChatRequest(std::string_view body, std::string_view header_model,
                               const proto::Limits& limits, ChatRequest& out);

}  // namespace sb::inference
