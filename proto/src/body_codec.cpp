#include "sb/proto/body_codec.h"

#include <exception>

namespace sb::proto {

Status decodeBody(std::string_view frame, const Limits& limits, msgpack::object_handle& out) {
  if (frame.size() > limits.max_body_bytes) {
    return Status::error(ErrorCode::kInvalidArgument, "body of " + std::to_string(frame.size()) +
                                                          " bytes exceeds the limit of " +
                                                          std::to_string(limits.max_body_bytes));
  }
  if (frame.empty()) {
    out = msgpack::object_handle();
    return Status::okStatus();
  }
  msgpack::unpack_limit lim(limits.max_body_entries, limits.max_body_entries, frame.size(),
                            frame.size(), frame.size(), limits.max_depth);
  try {
    size_t off = 0;
    out = msgpack::unpack(frame.data(), frame.size(), off, nullptr, nullptr, lim);
    if (off != frame.size()) {
      return Status::error(ErrorCode::kInvalidArgument, "trailing bytes after the body");
    }
  } catch (const msgpack::depth_size_overflow&) {
    return Status::error(ErrorCode::kInvalidArgument, "body nesting deeper than the limit");
  } catch (const msgpack::size_overflow&) {
    return Status::error(ErrorCode::kInvalidArgument, "body container larger than the limit");
  } catch (const msgpack::insufficient_bytes&) {
    return Status::error(ErrorCode::kInvalidArgument, "body is truncated msgpack");
  } catch (const std::exception&) {
    return Status::error(ErrorCode::kInvalidArgument, "body is not valid msgpack");
  }
  return Status::okStatus();
}

const msgpack::object* findKey(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
      return &kv.val;
    }
  }
  return nullptr;
}

}  // namespace sb::proto
