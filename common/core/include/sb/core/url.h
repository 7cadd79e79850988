#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sb {

// A URL split into its parts by libcurl's URL API (the library that later connects to it, so
// both read a URL the same way). Any scheme is accepted: the caller checks it. `user` and
// `password` are percent-decoded; the rest is as written (an IPv6 host keeps its brackets).
// Absent parts are empty.
struct UrlParts {
  std::string scheme;
  std::string user;
  std::string password;
  std::string host;
  std::string port;
  std::string path;
  std::string query;
  std::string fragment;
};

// nullopt when libcurl cannot read `url` as a URL.
std::optional<UrlParts> parseUrl(std::string_view url);

}  // namespace sb
