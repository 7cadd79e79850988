#include "auth_files.h"

#include <fcntl.h>
#include <unistd.h>

#include "sb/core/files.h"

namespace sb::auth::files {

std::optional<std::string> read(const std::string& path, std::string& out) {
  if (!readWholeFile(path, out)) return "cannot read " + path;
  return std::nullopt;
}

std::optional<std::string> writeAtomically(const std::string& path, const std::string& text,
                                           mode_t mode) {
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "cannot write " + tmp;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return "cannot write " + path;
  }
  return std::nullopt;
}

std::string at(const toml::node& n) {
  return " (line " + std::to_string(n.source().begin.line) + ")";
}

std::optional<std::string> readString(const toml::node& n, const std::string& here,
                                      std::string& out) {
  auto v = n.value<std::string>();
  if (!n.is_string() || !v || v->empty()) return here + ": must be a string" + at(n);
  out = *v;
  return std::nullopt;
}

std::optional<std::string> readStrings(const toml::node& n, const std::string& here,
                                       const char* what, std::vector<std::string>& out) {
  const toml::array* a = n.as_array();
  if (!a) return here + ": must be an array of " + what + at(n);
  for (const toml::node& s : *a) {
    auto v = s.value<std::string>();
    if (!s.is_string() || !v || v->empty()) return here + ": must hold strings" + at(s);
    out.push_back(*v);
  }
  return std::nullopt;
}

std::optional<std::string> parseToml(std::string_view text, toml::table& out) {
  try {
    out = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) + ")";
  }
  return std::nullopt;
}

}  // namespace sb::auth::files
