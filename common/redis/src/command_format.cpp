#include "sb/redis/command_format.h"

#include <charconv>

namespace sb::redis {

namespace {

void appendHeader(std::string& out, char kind, size_t n) {
  char buf[24];
  buf[0] = kind;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<size_t>(end - buf));
}

}  // namespace

void appendCommand(std::string& out, const std::vector<std::string>& argv) {
  appendHeader(out, '*', argv.size());
  for (const auto& a : argv) {
    appendHeader(out, '$', a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
}

}  // namespace sb::redis
