#pragma once

#include <optional>
#include <string_view>

#include "chat_call.h"
#include "openai_errors.h"

namespace sb::edge {

// Reads a POST /v1/chat/completions request as OpenAI defines it: the content type, the JSON
// body (`model`, `messages`, `stream`, `stream_options`, `n` checked; every other field kept
// for the backend untouched) and the X-Session-Id header. Fills `out`, or returns the 4xx to
// answer. Pure, bounded by the body it is given (the server caps that), fuzzed.
std::optional<HttpError> parseChatCompletion(std::string_view content_type, std::string_view body,
                                             std::string_view session_id, ChatCall::Request& out);

// Session ids as clients may send them: 1-128 of A-Z a-z 0-9 . _ : - (the session service
// takes up to 256 and `@`, room for the key name the edge puts in front)
bool validSessionId(std::string_view id);

}  // namespace sb::edge
