#pragma once

#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::proto {

// Decodes a body frame into a msgpack object, bounded by `limits` (size, depth, container
// entries, string lengths). Never throws. An empty frame decodes as nil.
Status decodeBody(std::string_view frame, const Limits& limits, msgpack::object_handle& out);

// Packs any msgpack-adaptable value into a body frame.
template <typename T>
std::string packBody(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  return std::string(buf.data(), buf.size());
}

// Looks up a string key in a msgpack map object; nullptr when absent or not a map.
const msgpack::object* findKey(const msgpack::object& map, std::string_view key);

}  // namespace sb::proto
