#pragma once

#include <string>
#include <utility>

#include "sb/proto/error_code.h"

namespace sb::proto {

// The result of an operation on the message path: a code and a human message. No exceptions
// travel the data plane; decoders and handlers return one of these.
struct Status {
  ErrorCode code = ErrorCode::kOk;
  std::string message;

  bool ok() const { return code == ErrorCode::kOk; }
  static Status okStatus() { return {}; }
  static Status error(ErrorCode c, std::string msg) { return {c, std::move(msg)}; }
};

}  // namespace sb::proto
