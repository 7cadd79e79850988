// libFuzzer target: a chat-completions request as an HTTP client sends it (content type, body,
// X-Session-Id). Never crashes; an accepted request has a model, messages and a session id
// the session service takes, and keeps the fields it consumed out of the pass-through ones;
// a refused one is a 4xx in OpenAI's shape.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chat_completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks the content type; a line starting with "sid:" ends with the session.
  static constexpr std::string_view kTypes[] = {
      "application/json", "Application/JSON; charset=utf-8", "text/plain", "", " application/json"};
  std::string_view type = kTypes[in.empty() ? 0 : static_cast<uint8_t>(in[0]) % 5];
  if (!in.empty()) in.remove_prefix(1);
  std::string_view session;
  if (in.rfind("sid:", 0) == 0) {
    size_t nl = in.find('\n');
    session = in.substr(4, nl == std::string_view::npos ? std::string_view::npos : nl - 4);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  }
  sb::edge::ChatCall::Request req;
  auto err = sb::edge::parseChatCompletion(type, in, session, req);
  if (err) {
    if (err->status < 400 || err->status > 499 || !err->body().contains("error")) std::abort();
    return 0;
  }
  if (req.model.empty() || !req.messages.is_array() || req.messages.empty()) std::abort();
  if (!req.session.empty() && !sb::edge::validSessionId(req.session)) std::abort();
  if (!req.params.is_object() || req.params.contains("model") || req.params.contains("messages") ||
      req.params.contains("stream"))
    std::abort();
  (void)req.params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
