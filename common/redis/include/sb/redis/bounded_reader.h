#pragma once

#include <cstddef>

struct redisReader;

namespace sb::redis {

// The most elements one array reply may declare. hiredis 0.14 (Debian 12) allocates the
// declared count before a single element has arrived, so "*345678901" alone asks for 2.7 GB
// (found by the cluster-slots fuzzer); newer hiredis has `maxelements` for this. The largest
// replies we read are CLUSTER SLOTS (one entry per slot range) and a session's history.
inline constexpr size_t kMaxReplyElements = 1 << 20;

// Makes `reader` refuse (as a protocol error, which fails the connection) an array reply that
// declares more than kMaxReplyElements elements.
void boundReader(redisReader* reader);

}  // namespace sb::redis
