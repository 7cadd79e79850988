#pragma once

#include <string>

namespace sb::edge {

// The rate limiter's Lua scripts. KEYS, all with the key name as hash tag (one cluster slot):
// 1 = requests (GCRA theoretical arrival time, ms), 2 = tokens (the same for tokens),
// 3 = leases of requests in flight (sorted set: lease id -> expiry, ms). Time is Redis's TIME.

// ARGV: requests per minute, tokens per minute, concurrent (each 0: no limit), lease id,
// lease ms. Returns {allowed 1|0, refused by ("" | requests | tokens | concurrent), retry ms,
// remaining requests, requests reset ms, remaining tokens, tokens reset ms}; nothing is
// written unless the request is allowed.
extern const std::string kAdmitScript;
// ARGV: tokens per minute, tokens used, lease id ("" for none). Charges the tokens, frees the
// lease.
extern const std::string kSettleScript;
// KEYS: 1 = leases. ARGV: lease ms, lease ids: pushes their expiry on (those still there).
extern const std::string kRenewScript;

}  // namespace sb::edge
