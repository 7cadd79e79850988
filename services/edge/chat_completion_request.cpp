#include "chat_completion_request.h"

#include "json_request.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace sb::edge {

using json = nlohmann::json;

bool validSessionId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

std::optional<HttpError> parseChatCompletion(std::string_view content_type,
                                             std::string_view body_text,
                                             std::string_view session_id, ChatCall::Request& req) {
  json body;
  if (auto err = readJsonRequest(content_type, body_text, body, req.model)) return err;
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty())
    return invalidRequest("'messages' must be a non-empty array", "messages");
  for (const auto& m : *messages) {
    auto role = m.is_object() ? m.find("role") : m.end();
    if (!m.is_object() || role == m.end() || !role->is_string())
      return invalidRequest("each message must be an object with a string 'role'", "messages");
  }
  req.messages = std::move(*messages);
  if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
    if (!s->is_boolean()) return invalidRequest("'stream' must be a boolean", "stream");
    req.stream = s->get<bool>();
  }
  if (auto so = body.find("stream_options"); so != body.end() && so->is_object()) {
    auto iu = so->find("include_usage");
    req.include_usage = iu != so->end() && iu->is_boolean() && iu->get<bool>();
  }
  if (auto n = body.find("n"); n != body.end() && !n->is_null()) {
    bool in_range = n->is_number_unsigned() ? n->get<uint64_t>() >= 1 && n->get<uint64_t>() <= 128
                                            : n->is_number_integer() && n->get<int64_t>() >= 1 &&
                                                  n->get<int64_t>() <= 128;
    if (!in_range) return invalidRequest("'n' must be an integer from 1 to 128", "n");
  }
  req.session = std::string(session_id);
  if (!req.session.empty() && !validSessionId(req.session)) {
    return invalidRequest("X-Session-Id must be 1-128 of A-Z a-z 0-9 . _ : -", "X-Session-Id");
  }
  for (const char* key : {"model", "messages", "stream", "stream_options"}) body.erase(key);
  req.params = std::move(body);  // the rest goes to the backend untouched
  return std::nullopt;
}

}  // namespace sb::edge
