#include "auth_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace sb::auth::files {

std::optional<std::string> read(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
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

std::optional<std::string> parseToml(std::string_view text, toml::table& out) {
  try {
    out = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) + ")";
  }
  return std::nullopt;
}

void warnIfWorldReadable(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    spdlog::warn("{} holds {} and every user on this host can read it: chmod o-r {}", path, what,
                 path);
  }
}

}  // namespace sb::auth::files
