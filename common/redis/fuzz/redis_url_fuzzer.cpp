// libFuzzer target: Redis URLs (from flags, files and the environment) and host:port strings
// (from MOVED / ASK redirections sent by a node). Never crash; what they accept has a host and
// a port in range.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/redis/redis_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::redis;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  RedisUrl u;
  if (parseRedisUrl(text, u).ok()) {
    if (u.node.host.empty() || u.node.port <= 0 || u.node.port > 65535 || u.db < 0) std::abort();
  }
  Node n;
  if (parseHostPort(text, n).ok()) {
    if (n.port <= 0 || n.port > 65535) std::abort();
  }
  return 0;
}
