#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::proto {

// Decodes one header frame. Never throws; bounded by `limits`. On success the string views in
// `out` point into `frame`. Unknown keys are skipped; an unknown version yields
// INVALID_ARGUMENT with a message that names it; an oversized frame too (retrying cannot help).
Status decodeHeader(std::string_view frame, const Limits& limits, Header& out);

// The request id of a header that failed to decode, when it can still be read (a top-level
// "id" holding an unsigned integer), so that the error can name the request. Bounded like
// decodeHeader; nullopt when there is none to read.
std::optional<uint64_t> peekRequestId(std::string_view frame, const Limits& limits);

// Sets the deadline of a decoded header frame to `ms` (the router forwards the time left). In
// place when the frame has a "dl" (`deadline_at` from decoding): the value keeps its encoded
// width, which holds any value up to the one it replaces. False when `ms` does not fit.
bool patchDeadline(char* frame, size_t size, uint32_t deadline_at, uint64_t ms);
// A copy of a header frame (a map without "dl") with "dl" = `ms` added.
std::string withDeadline(std::string_view frame, uint64_t ms);
// A copy of a header frame whose "dl" value (at `deadline_at`) is re-encoded as a uint64, at
// the same offset, so that patchDeadline can then write any value there: for a client's
// "dl": 0 (the router's default), whose one-byte encoding cannot hold the time left.
std::string widenDeadline(std::string_view frame, uint32_t deadline_at);

// Encodes a header as a msgpack map with only the keys that carry information.
std::string encodeHeader(const Header& header);
void encodeHeaderInto(const Header& header, std::string& out);

}  // namespace sb::proto
