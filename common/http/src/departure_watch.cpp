#include "departure_watch.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sb::http {

DepartureWatch::DepartureWatch(EventLoop& loop) : loop_(loop) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  handle_ = loop_.addFd(epoll_fd_, ZMQ_POLLIN, [this](short) { onReadable(); });
}

DepartureWatch::~DepartureWatch() {
  handle_.cancel();
  close(epoll_fd_);
}

void DepartureWatch::watch(int fd, std::function<void()> on_departure) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  bool fresh = watched_.insert_or_assign(fd, std::move(on_departure)).second;
  if (epoll_ctl(epoll_fd_, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0) {
    watched_.erase(fd);  // (a descriptor already closed: nothing to watch)
  }
}

void DepartureWatch::unwatch(int fd) {
  if (watched_.erase(fd)) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void DepartureWatch::onReadable() {
  std::array<epoll_event, 256> events{};
  int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    auto it = watched_.find(fd);
    if (it == watched_.end()) continue;  // unwatched by an earlier callback of this batch
    char byte;
    ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    std::function<void()> fn = std::move(it->second);
    unwatch(fd);
    // Data without the peer's end-of-stream is a pipelined request: not a departure. Over TLS
    // a client that leaves sends its close_notify alert (data) and then its FIN, so a hang-up
    // counts even when data came first (an HTTP client never half-closes and stays).
    bool hung_up = (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    if (got > 0 && !hung_up) continue;
    loop_.guarded("http departure", fn);
  }
}

}  // namespace sb::http
