#include "sb/core/url.h"

#include <curl/curl.h>

#include <memory>

namespace sb {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of a parsed URL; empty when absent.
std::string part(CURLU* u, CURLUPart what, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, what, &out, flags) != CURLUE_OK || !out) return {};
  std::string s(out);
  curl_free(out);
  return s;
}

}  // namespace

std::optional<UrlParts> parseUrl(std::string_view url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  std::string text(url);
  // Schemes libcurl does not speak (redis) are parsed as generic URLs.
  if (!u ||
      curl_url_set(u.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return std::nullopt;
  }
  UrlParts p;
  p.scheme = part(u.get(), CURLUPART_SCHEME);
  p.user = part(u.get(), CURLUPART_USER, CURLU_URLDECODE);
  p.password = part(u.get(), CURLUPART_PASSWORD, CURLU_URLDECODE);
  p.host = part(u.get(), CURLUPART_HOST);
  p.port = part(u.get(), CURLUPART_PORT);
  p.path = part(u.get(), CURLUPART_PATH);
  p.query = part(u.get(), CURLUPART_QUERY);
  p.fragment = part(u.get(), CURLUPART_FRAGMENT);
  return p;
}

}  // namespace sb
