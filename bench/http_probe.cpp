#include "http_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sb::bench {

bool ChunkedDecoder::feed(std::string_view in, std::string& out) {
  while (!in.empty() && state_ != State::kDone) {
    if (state_ == State::kData) {
      size_t n = std::min(left_, in.size());
      out.append(in.substr(0, n));
      in.remove_prefix(n);
      left_ -= n;
      if (left_ == 0) state_ = State::kDataEnd;
      continue;
    }
    auto nl = in.find('\n');
    line_.append(in.substr(0, nl == std::string_view::npos ? in.size() : nl));
    if (line_.size() > 1024) return false;
    if (nl == std::string_view::npos) return true;
    in.remove_prefix(nl + 1);
    std::string line = std::move(line_);
    line_.clear();
    if (state_ == State::kDataEnd) {
      state_ = State::kSize;
    } else if (state_ == State::kSize) {
      char* end = nullptr;
      left_ = std::strtoul(line.c_str(), &end, 16);
      if (end == line.c_str()) return false;
      state_ = left_ ? State::kData : State::kTrailer;
    } else if (line.empty() || line == "\r") {
      state_ = State::kDone;  // the blank line after the (skipped) trailers
    }
  }
  return true;
}

HttpProbe::HttpProbe(int port) : port_(port) {}

HttpProbe::~HttpProbe() {
  if (fd_ >= 0) close(fd_);
}

bool HttpProbe::connectNow() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) return true;
  close(fd_);
  fd_ = -1;
  return false;
}

HttpProbe::Response HttpProbe::post(const std::string& path, const std::string& json_body) {
  Response r;
  if (fd_ < 0 && !connectNow()) return r;
  std::string req = "POST " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()) ||
      !readResponse(r)) {
    close(fd_);
    fd_ = -1;
    in_.clear();
    r.status = 0;
  }
  return r;
}

bool HttpProbe::readResponse(Response& r) {
  char buf[65536];
  auto more = [&] {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
    if (!more()) return false;
  }
  std::string head = in_.substr(0, end + 2);
  in_.erase(0, end + 4);
  r.status =
      static_cast<int>(std::strtol(head.c_str() + std::min<size_t>(9, head.size()), nullptr, 10));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    ChunkedDecoder d;
    for (;;) {
      std::string chunk = std::move(in_);
      in_.clear();
      if (!d.feed(chunk, r.body)) return false;
      if (d.done()) return true;  // (a pipelined answer's bytes are not expected here)
      if (!more()) return false;
    }
  }
  auto cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;  // close-delimited bodies are not kept alive
  size_t want = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
  while (in_.size() < want) {
    if (!more()) return false;
  }
  r.body = in_.substr(0, want);
  in_.erase(0, want);
  return true;
}

}  // namespace sb::bench
