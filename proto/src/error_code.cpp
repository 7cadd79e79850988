#include "sb/proto/error_code.h"

#include <array>
#include <utility>

namespace sb::proto {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 13> kNames{{
    {ErrorCode::kOk, "OK"},
    {ErrorCode::kCancelled, "CANCELLED"},
    {ErrorCode::kUnknown, "UNKNOWN"},
    {ErrorCode::kInvalidArgument, "INVALID_ARGUMENT"},
    {ErrorCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
    {ErrorCode::kNotFound, "NOT_FOUND"},
    {ErrorCode::kPermissionDenied, "PERMISSION_DENIED"},
    {ErrorCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
    {ErrorCode::kFailedPrecondition, "FAILED_PRECONDITION"},
    {ErrorCode::kUnimplemented, "UNIMPLEMENTED"},
    {ErrorCode::kInternal, "INTERNAL"},
    {ErrorCode::kUnavailable, "UNAVAILABLE"},
    {ErrorCode::kUnauthenticated, "UNAUTHENTICATED"},
}};

}  // namespace

std::string_view errorCodeName(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "UNKNOWN";
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

ErrorCode errorCodeFromNumber(uint64_t number) {
  for (const auto& [c, name] : kNames) {
    if (static_cast<uint64_t>(c) == number) return c;
  }
  return ErrorCode::kUnknown;
}

bool isRetryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

bool countsAsWorkerFailure(ErrorCode code) {
  return code == ErrorCode::kInternal || code == ErrorCode::kUnavailable ||
         code == ErrorCode::kUnknown;
}

}  // namespace sb::proto
