#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sb/proto/error_code.h"

namespace sb::proto {

inline constexpr uint32_t kProtocolVersion = 1;
// Deadlines ("dl") above this are read as this: 24 h, far beyond any chat turn, and small
// enough that now + deadline cannot overflow a clock.
inline constexpr uint64_t kMaxDeadlineMs = 24ull * 3600 * 1000;

// Every message kind. Numeric values are on the wire (header key "k").
enum class Kind : uint8_t {
  kRequest = 1,
  kChunk = 2,
  kReply = 3,
  kError = 4,
  kCancel = 5,
  kReady = 6,
  kHeartbeat = 7,
  kDrain = 8,
  kBye = 9,
};

std::string_view kindName(Kind kind);

// Request-scoped kinds carry a request id and, on the worker link, a client envelope.
inline bool isRequestScoped(Kind kind) {
  return kind == Kind::kRequest || kind == Kind::kChunk || kind == Kind::kReply ||
         kind == Kind::kError || kind == Kind::kCancel;
}
// A final frame ends a request: nothing more will follow for that id.
inline bool isFinal(Kind kind) { return kind == Kind::kReply || kind == Kind::kError; }

// The routing header. String fields are views: after decoding they point into the frame that
// was decoded (keep it alive); for encoding they point at caller-owned text.
struct Header {
  uint32_t version = kProtocolVersion;
  Kind kind = Kind::kRequest;
  uint64_t id = 0;                   // "id": request id, chosen by the client
  std::string_view service;          // "svc"
  std::string_view op;               // "op"
  std::string_view model;            // "m": model / route tag, optional
  std::string_view target;           // "to": a worker name, for administrative requests
  uint64_t deadline_ms = 0;          // "dl": relative deadline in ms; 0 = not given
  ErrorCode error = ErrorCode::kOk;  // "ec" (error kind only)
  std::string_view message;          // "em": human-readable error text
  bool idempotent = false;           // "idem": safe to re-dispatch before anything streamed
  uint64_t seq = 0;                  // "seq": chunk sequence number, optional
  // Decoding only: where the "dl" value starts in the decoded frame (0: no "dl" key), so the
  // router can rewrite it to the time left without re-encoding the header.
  uint32_t deadline_at = 0;
};

// Bounds applied by every decoder. All configurable; the defaults are the documented limits.
struct Limits {
  size_t max_header_bytes = 4096;
  size_t max_body_bytes = size_t{4} << 20;
  size_t max_depth = 16;              // nesting of arrays and maps
  size_t max_string_bytes = 1024;     // any one string inside a header
  size_t max_entries = 64;            // map pairs / array items of one container in a header
  size_t max_body_entries = 1 << 20;  // map pairs / array items of one container in a body
};

}  // namespace sb::proto
