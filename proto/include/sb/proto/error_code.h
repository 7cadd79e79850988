#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sb::proto {

// The gRPC canonical codes (same numeric values), so clients in any language can map them.
// Only the codes Switchboard emits are listed; an unknown numeric code from a peer decodes as
// kUnknown rather than failing.
enum class ErrorCode : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT" etc.; "UNKNOWN" for codes outside the list.
std::string_view errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(std::string_view name);
ErrorCode errorCodeFromNumber(uint64_t number);

// Whether a caller may send the same request again (to any worker) and expect a different
// outcome. Documented per code in proto/PROTOCOL.md.
bool isRetryable(ErrorCode code);

// Whether an error returned by a worker counts against it for passive failure detection.
// Client errors (bad argument, not found, precondition, auth) and cancellations do not.
bool countsAsWorkerFailure(ErrorCode code);

}  // namespace sb::proto
