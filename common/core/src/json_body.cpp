#include "sb/core/json_body.h"

#include <nlohmann/json.hpp>

namespace sb {

std::string packJsonValue(const nlohmann::json& value) {
  auto bytes = nlohmann::json::to_msgpack(value);
  return std::string(bytes.begin(), bytes.end());
}

nlohmann::json unpackJsonValue(std::string_view body) {
  return nlohmann::json::from_msgpack(body.begin(), body.end(), true, false);
}

proto::Status jsonToBody(std::string_view json, std::string& body) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) {
    return proto::Status::error(proto::ErrorCode::kInvalidArgument, "not valid JSON");
  }
  body = packJsonValue(j);
  return {};
}

proto::Status bodyToJson(std::string_view body, std::string& json, int indent) {
  if (body.empty()) {
    json = "null";
    return {};
  }
  auto j = unpackJsonValue(body);
  if (j.is_discarded()) {
    return proto::Status::error(proto::ErrorCode::kInvalidArgument, "body is not valid msgpack");
  }
  json = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  return {};
}

}  // namespace sb
