#pragma once

#include <string>
#include <string_view>

#include "sb/proto/status.h"

namespace sb {

// JSON text <-> msgpack body, for sbctl and tests (nlohmann::json does the conversion).
proto::Status jsonToBody(std::string_view json, std::string& body);
// Renders a msgpack body as JSON; an empty body renders as "null".
proto::Status bodyToJson(std::string_view body, std::string& json, int indent = -1);

}  // namespace sb
