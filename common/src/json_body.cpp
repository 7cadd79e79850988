#include "sb/common/json_body.h"

#include <nlohmann/json.hpp>

namespace sb {

proto::Status jsonToBody(std::string_view json, std::string& body) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) {
    return proto::Status::error(proto::ErrorCode::kInvalidArgument, "not valid JSON");
  }
  auto bytes = nlohmann::json::to_msgpack(j);
  body.assign(bytes.begin(), bytes.end());
  return {};
}

proto::Status bodyToJson(std::string_view body, std::string& json, int indent) {
  if (body.empty()) {
    json = "null";
    return {};
  }
  auto j = nlohmann::json::from_msgpack(body.begin(), body.end(), true, false);
  if (j.is_discarded()) {
    return proto::Status::error(proto::ErrorCode::kInvalidArgument, "body is not valid msgpack");
  }
  json = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  return {};
}

}  // namespace sb
