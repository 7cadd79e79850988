#include "loopback_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string_view>

namespace sb::ctl {

namespace {

// Writes `request` to 127.0.0.1:PORT and returns the first bytes of the answer ("" if none),
// with `timeout_us` on connect, send and receive.
std::string exchange(int port, std::string_view request, long timeout_us) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{timeout_us / 1000000, timeout_us % 1000000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) answer.assign(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

}  // namespace

std::string probeReadyz(int port) {
  std::string head = exchange(port, "GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", 1000000);
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return "no answer";
  std::string code = head.substr(9, 3);
  return code == "200" ? "ready" : "not ready (HTTP " + code + ")";
}

bool redisAnswers(int port) { return exchange(port, "PING\r\n", 200000).rfind("+PONG", 0) == 0; }

}  // namespace sb::ctl
