#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sb/proto/status.h"

namespace sb {

// JSON text <-> msgpack body, for sbctl and tests (nlohmann::json does the conversion).
proto::Status jsonToBody(std::string_view json, std::string& body);
// A JSON value as a msgpack body, and back (a discarded value when the body is not msgpack;
// never throws). For services and the client library that build or read bodies as JSON.
std::string packJsonValue(const nlohmann::json& value);
nlohmann::json unpackJsonValue(std::string_view body);
// Renders a msgpack body as JSON; an empty body renders as "null".
proto::Status bodyToJson(std::string_view body, std::string& json, int indent = -1);

}  // namespace sb
