#include "sb/redis/redis_url.h"

#include <curl/curl.h>

#include <charconv>
#include <memory>

namespace sb::redis {

using proto::ErrorCode;
using proto::Status;

namespace {

Status bad(std::string why) { return Status::error(ErrorCode::kInvalidArgument, std::move(why)); }

bool parsePort(std::string_view text, int& port) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && ptr == text.data() + text.size() && port > 0 && port < 65536;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of a parsed URL, decoded; empty when absent.
std::string part(CURLU* u, CURLUPart what, unsigned flags = CURLU_URLDECODE) {
  char* out = nullptr;
  if (curl_url_get(u, what, &out, flags) != CURLUE_OK || !out) return {};
  std::string s(out);
  curl_free(out);
  return s;
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
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  // Non-http schemes are parsed as generic URLs; CURLU_NON_SUPPORT_SCHEME lets "redis" pass.
  if (!u ||
      curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return bad("'" + std::string(text) +
               "' is not a Redis URL (redis://[user:password@]host:port)");
  }
  std::string scheme = part(u.get(), CURLUPART_SCHEME, 0);
  if (scheme == "rediss") return bad("TLS to Redis (rediss://) is not supported");
  if (scheme != "redis") return bad("a Redis URL starts with redis://, not " + scheme + "://");
  out.node.host = part(u.get(), CURLUPART_HOST, 0);
  if (out.node.host.size() > 2 && out.node.host.front() == '[' && out.node.host.back() == ']') {
    out.node.host = out.node.host.substr(1, out.node.host.size() - 2);  // IPv6
  }
  if (out.node.host.empty()) return bad("no host in the Redis URL");
  std::string port = part(u.get(), CURLUPART_PORT, 0);
  out.node.port = 6379;
  if (!port.empty() && !parsePort(port, out.node.port)) {
    return bad("bad port '" + port + "' in the Redis URL");
  }
  out.user = part(u.get(), CURLUPART_USER);
  out.password = part(u.get(), CURLUPART_PASSWORD);
  std::string path = part(u.get(), CURLUPART_PATH, 0);
  if (!path.empty() && path != "/") {
    std::string_view db(path);
    db.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), out.db);
    if (ec != std::errc() || ptr != db.data() + db.size() || out.db < 0 || out.db > 65535) {
      return bad("the path of a Redis URL is a database number, not '" + path + "'");
    }
  }
  if (!part(u.get(), CURLUPART_QUERY, 0).empty() || !part(u.get(), CURLUPART_FRAGMENT, 0).empty())
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
