#include "sb/core/backend_flag.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "sb/core/url.h"

namespace sb {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

bool number(const std::string& s, uint32_t& out) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end || v == 0 || v > 1000000) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// An http(s) URL with a host, as libcurl reads it (the same library that will use it).
std::optional<std::string> checkBaseUrl(const std::string& url) {
  std::optional<UrlParts> u = parseUrl(url);
  if (!u) return "not a URL (http://host:port)";
  if (u->scheme != "http" && u->scheme != "https") return "the scheme must be http or https";
  if (u->host.empty()) return "no host";
  return std::nullopt;
}

bool listed(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

std::optional<std::string> parseBackendFlag(const std::string& text,
                                            const std::vector<std::string>& kinds,
                                            const std::vector<std::string>& url_kinds,
                                            BackendFlag& out) {
  for (const auto& item : split(text, ',')) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq),
                value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "kind" && listed(kinds, value))
      out.kind = value;
    else if (key == "url" && !value.empty())
      out.url = value;
    else if (key == "models")
      out.models = split(value, '|');
    else if ((key == "weight" && number(value, out.weight)) ||
             (key == "max_conns" && number(value, out.max_conns)))
      continue;  // number() stored it
    else if (key == "backup" && eq == std::string::npos)
      out.backup = true;
    else if (key == "api_key_env" && !value.empty())
      out.api_key_env = value;
    else if (key == "name" && !value.empty())
      out.name = value;
    else
      return std::string("bad backend setting '").append(item).append("' in '").append(text) + "'";
  }
  while (!out.url.empty() && out.url.back() == '/') out.url.pop_back();
  bool needs_url = listed(url_kinds, out.kind);
  if (needs_url && out.url.empty()) return "a " + out.kind + " backend needs url=...";
  if (needs_url) {
    if (auto err = checkBaseUrl(out.url)) return "backend url '" + out.url + "': " + *err;
  }
  if (out.name.empty()) out.name = needs_url ? out.url : out.kind;
  return std::nullopt;
}

std::optional<std::string> readBackendKey(BackendFlag& b) {
  if (b.api_key_env.empty()) return std::nullopt;
  const char* key = std::getenv(b.api_key_env.c_str());
  if (!key || !*key) {
    return "backend " + b.name + ": api_key_env=" + b.api_key_env + ", but $" + b.api_key_env +
           " is " + (key ? "empty" : "not set");
  }
  b.api_key = key;
  return std::nullopt;
}

}  // namespace sb
