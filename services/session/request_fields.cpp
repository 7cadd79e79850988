#include "request_fields.h"

#include "sb/proto/body_codec.h"

namespace sb::session {

using proto::ErrorCode;

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

RequestFields::RequestFields(const msgpack::object& body) : body_(body) {
  // An empty (nil) body is an empty map: every field absent.
  if (body.type != msgpack::type::MAP && !body.is_nil()) fail("the request body must be a map");
}

void RequestFields::fail(std::string message) {
  if (status_.ok()) status_ = proto::Status::error(ErrorCode::kInvalidArgument, std::move(message));
}

const msgpack::object* RequestFields::raw(const char* key) const {
  return body_.type == msgpack::type::MAP ? proto::findKey(body_, key) : nullptr;
}

void RequestFields::id(const char* key, std::string& out, bool required) {
  const msgpack::object* v = raw(key);
  if (!v || v->is_nil()) {
    if (required) fail(std::string("'") + key + "' is required");
    return;
  }
  if (v->type != msgpack::type::STR) return fail(std::string("'") + key + "' must be a string");
  std::string_view s(v->via.str.ptr, v->via.str.size);
  if (!validId(s)) {
    return fail(std::string("'") + key + "' must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  }
  out = std::string(s);
}

void RequestFields::uint(const char* key, uint64_t& out, bool& present, uint64_t min,
                         uint64_t max) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type != msgpack::type::POSITIVE_INTEGER || v->via.u64 < min || v->via.u64 > max) {
    return fail(std::string("'") + key + "' must be an integer from " + std::to_string(min) +
                " to " + std::to_string(max));
  }
  out = v->via.u64;
}

void RequestFields::integer(const char* key, int64_t& out, bool& present) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type == msgpack::type::POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
    out = static_cast<int64_t>(v->via.u64);
  } else if (v->type == msgpack::type::NEGATIVE_INTEGER) {
    out = v->via.i64;
  } else {
    fail(std::string("'") + key + "' must be an integer");
  }
}

void RequestFields::text(const char* key, std::string& out, bool& present, size_t max_bytes) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type != msgpack::type::STR || v->via.str.size > max_bytes) {
    return fail(std::string("'") + key + "' must be a string of at most " +
                std::to_string(max_bytes) + " bytes");
  }
  out.assign(v->via.str.ptr, v->via.str.size);
}

void RequestFields::packed(const char* key, std::string& out, size_t max_bytes) {
  const msgpack::object* v = raw(key);
  if (!v) return;
  out = proto::packBody(*v);
  if (out.size() > max_bytes) {
    fail(std::string("'") + key + "' is " + std::to_string(out.size()) +
         " bytes encoded; the limit is " + std::to_string(max_bytes));
  }
}

}  // namespace sb::session
