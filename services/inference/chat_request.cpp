#include "chat_request.h"

#include <msgpack.hpp>

#include "sb/core/json_body.h"
#include "sb/proto/body_codec.h"

namespace sb::inference {

using json = nlohmann::json;

proto::Status parseChatRequest(std::string_view body, std::string_view header_model,
                               const proto::Limits& limits, ChatRequest& out) {
  // The bounded decoder first (depth, sizes): the JSON conversion below trusts its input.
  msgpack::object_handle oh;
  proto::Status st = proto::decodeBody(body, limits, oh);
  if (!st.ok()) return st;
  json j = unpackJsonValue(body);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array() ||
      j["messages"].empty()) {
    return proto::Status::error(proto::ErrorCode::kInvalidArgument,
                                "a chat request is a map with a non-empty 'messages' array");
  }
  out.model = std::string(header_model);
  if (out.model.empty() && j.contains("model") && j["model"].is_string())
    out.model = j["model"].get<std::string>();
  j.erase("model");
  out.params = std::move(j);
  return {};
}

}  // namespace sb::inference
