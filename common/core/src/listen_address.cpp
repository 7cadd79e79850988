#include "sb/core/listen_address.h"

#include <arpa/inet.h>

#include <cstdlib>

namespace sb {

bool parseListenAddress(const std::string& text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || h == "*") h = "0.0.0.0";
  if (h == "localhost") h = "127.0.0.1";
  unsigned char addr[16];
  if (inet_pton(AF_INET, h.c_str(), addr) != 1 && inet_pton(AF_INET6, h.c_str(), addr) != 1)
    return false;
  char* end = nullptr;
  unsigned long v = std::strtoul(p.c_str(), &end, 10);
  if (p.empty() || *end || v > 65535) return false;
  host = h;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace sb
