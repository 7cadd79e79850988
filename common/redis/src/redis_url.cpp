#include "sb/redis/redis_url.h"

#include <charconv>

#include "sb/core/url.h"

namespace sb::redis {

using proto::ErrorCode;
using proto::Status;

namespace {

Status bad(std::string why) { return Status::error(ErrorCode::kInvalidArgument, std::move(why)); }

bool parsePort(std::string_view text, int& port) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && ptr == text.data() + text.size() && port > 0 && port < 65536;
}

}  // namespace

Status parseRedisUrl(std::string_view text, RedisUrl& out) {
  out = RedisUrl{};
  std::string url(text);
  if (url.find("://") == std::string::npos) url = "redis://" + url;  // "host:port"
  // libcurl reads "host:" as the default port; a colon with nothing after it is a mistake.
  std::string_view authority(url);
  authority.remove_prefix(url.find("://") + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (!authority.empty() && authority.back() == ':') return bad("empty port in the Redis URL");
  std::optional<UrlParts> u = parseUrl(url);
  if (!u) {
    return bad("'" + std::string(text) +
               "' is not a Redis URL (redis://[user:password@]host:port)");
  }
  if (u->scheme == "rediss") return bad("TLS to Redis (rediss://) is not supported");
  if (u->scheme != "redis")
    return bad("a Redis URL starts with redis://, not " + u->scheme + "://");
  out.node.host = u->host;
  if (out.node.host.size() > 2 && out.node.host.front() == '[' && out.node.host.back() == ']') {
    out.node.host = out.node.host.substr(1, out.node.host.size() - 2);  // IPv6
  }
  if (out.node.host.empty()) return bad("no host in the Redis URL");
  out.node.port = 6379;
  if (!u->port.empty() && !parsePort(u->port, out.node.port)) {
    return bad("bad port '" + u->port + "' in the Redis URL");
  }
  out.user = u->user;
  out.password = u->password;
  const std::string& path = u->path;
  if (!path.empty() && path != "/") {
    std::string_view db(path);
    db.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), out.db);
    if (ec != std::errc() || ptr != db.data() + db.size() || out.db < 0 || out.db > 65535) {
      return bad("the path of a Redis URL is a database number, not '" + path + "'");
    }
  }
  if (!u->query.empty() || !u->fragment.empty())
    return bad("a Redis URL takes no query or fragment");
  return {};
}

Status parseHostPort(std::string_view text, Node& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return bad("'" + std::string(text) + "' is not host:port");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!parsePort(text.substr(colon + 1), port)) {
    return bad("bad port in '" + std::string(text) + "'");
  }
  out.host = std::string(host);
  out.port = port;
  return {};
}

}  // namespace sb::redis
