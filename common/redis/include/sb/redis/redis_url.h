#pragma once

#include <string>
#include <string_view>

#include "sb/proto/status.h"
#include "sb/redis/connection.h"

namespace sb::redis {

// Where a Redis is and how to log in: "redis://[user[:password]@]host[:port][/db]"
// (percent-encoding in user and password; IPv6 hosts in brackets; port 6379 by default), or
// plain "host:port". Parsed by libcurl's URL API, not by hand.
struct RedisUrl {
  Node node;
  std::string user;      // an ACL user (AUTH user password); empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;
};

// INVALID_ARGUMENT with the reason for anything else (another scheme, TLS, a path that is not
// a database number, a bad port).
proto::Status parseRedisUrl(std::string_view text, RedisUrl& out);

// "host:port" as Redis itself writes addresses (MOVED / ASK redirections): the port follows
// the last colon, so an IPv6 host needs no brackets ("::1:7001"), though they are accepted.
proto::Status parseHostPort(std::string_view text, Node& out);

}  // namespace sb::redis
