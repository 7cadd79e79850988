#pragma once

#include <string>

namespace sb::session {

// The Lua scripts that change a session atomically. Every key a script touches carries the
// session id as hash tag, so one script runs on one node. KEYS: 1 = meta (hash),
// 2 = msgs (list), 3 = ops (hash: recent operation id -> its result, which makes resends
// idempotent), 4 = op times (sorted set: operation id -> when, to forget old ones).
// Errors start with a word the store maps to a code: NOTFOUND, EXISTS, CONFLICT.
struct Scripts {
  static const std::string kCreate;
  static const std::string kAppend;
  static const std::string kUpdate;
  static const std::string kTouch;
  static const std::string kDelete;
};

}  // namespace sb::session
