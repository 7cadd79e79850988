#pragma once

#include <string>
#include <string_view>

#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::proto {

// Decodes one header frame. Never throws; bounded by `limits`. On success the string views in
// `out` point into `frame`. Unknown keys are skipped; an unknown version yields
// INVALID_ARGUMENT with a message that names it; an oversized frame yields RESOURCE_EXHAUSTED.
Status decodeHeader(std::string_view frame, const Limits& limits, Header& out);

// Encodes a header as a msgpack map with only the keys that carry information.
std::string encodeHeader(const Header& header);
void encodeHeaderInto(const Header& header, std::string& out);

}  // namespace sb::proto
