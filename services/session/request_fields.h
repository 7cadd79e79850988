#pragma once

#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "sb/proto/status.h"

namespace sb::session {

// Reads typed fields out of a request body map, with a clear INVALID_ARGUMENT for each way a
// field can be wrong. The first error sticks; check status() once at the end.
class RequestFields {
 public:
  explicit RequestFields(const msgpack::object& body);

  // A session or user id: 1..128 of [A-Za-z0-9._:-] (no braces: they would break hash tags).
  void id(const char* key, std::string& out, bool required);
  void uint(const char* key, uint64_t& out, bool& present, uint64_t min, uint64_t max);
  void integer(const char* key, int64_t& out, bool& present);
  void text(const char* key, std::string& out, bool& present, size_t max_bytes);
  // Any msgpack value, re-encoded; absent leaves `out` empty.
  void packed(const char* key, std::string& out, size_t max_bytes);
  const msgpack::object* raw(const char* key) const;

  void fail(std::string message);
  const proto::Status& status() const { return status_; }

 private:
  const msgpack::object& body_;
  proto::Status status_;
};

bool validId(std::string_view id);

}  // namespace sb::session
