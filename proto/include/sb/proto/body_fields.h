#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "sb/proto/status.h"

namespace sb::proto {

// Reads typed fields out of a body that must be a msgpack map, without throwing (msgpack's
// `as<T>()` throws on a wrong type; nothing on the message path may). Each way a field can be
// wrong gets a clear INVALID_ARGUMENT naming it; the first error sticks, so a handler reads
// every field and checks status() once. The map itself is checked on construction: string
// keys, each at most once (a duplicate key is refused, not silently resolved).
//
// Every string read is checked to be UTF-8: msgpack `str` promises it, and strict decoders
// (Python's, by default) refuse to decode a message carrying one that is not.
class BodyFields {
 public:
  // `nil_is_empty`: a nil (or absent, zero-byte) body reads as an empty map.
  explicit BodyFields(const msgpack::object& body, bool nil_is_empty = false);

  // The raw value of `key`, or nullptr when absent.
  const msgpack::object* raw(std::string_view key) const;
  bool has(std::string_view key) const { return raw(key) != nullptr; }

  // A string of at most `max_bytes`. Absent (or nil): `present` false, `out` untouched; with
  // `required`, that is an error.
  void str(std::string_view key, std::string& out, bool& present, size_t max_bytes,
           bool required = false);
  // An unsigned integer within [min, max].
  void uint(std::string_view key, uint64_t& out, bool& present, uint64_t min, uint64_t max);
  // A signed integer (either msgpack integer family).
  void integer(std::string_view key, int64_t& out, bool& present);
  void boolean(std::string_view key, bool& out, bool& present);
  // An array of at most `max_items` strings, each of at most `max_bytes`.
  void strings(std::string_view key, std::vector<std::string>& out, bool& present, size_t max_items,
               size_t max_bytes);
  // Any value, re-encoded as msgpack (at most `max_bytes`); absent leaves `out` empty. Its
  // strings, keys included, must be UTF-8.
  void packed(std::string_view key, std::string& out, size_t max_bytes);

  void fail(std::string message);
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

 private:
  const msgpack::object* map_ = nullptr;  // null: an empty body
  Status status_;
};

// Whether `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isUtf8(std::string_view s);
// Whether every str in `o`, map keys included, at any depth, is UTF-8.
bool allStringsUtf8(const msgpack::object& o);

}  // namespace sb::proto
