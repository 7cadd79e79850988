#pragma once

#include <functional>
#include <unordered_map>

#include "sb/core/event_loop.h"

namespace sb::http {

// Watches many sockets for a peer that leaves (its end-of-stream), through one private epoll
// set that joins the loop as a single descriptor: the loop's poll list stays one entry long
// however many sockets are watched (thousands of suspended streams), and adding or dropping a
// socket is one epoll_ctl instead of a rebuild of the loop's list.
//
// A socket that turns readable with data and no hang-up (a pipelined request) is dropped from
// the watch without a call: its owner reads it. Callbacks are moved out before they run, so one
// may watch or unwatch any socket, itself included.
class DepartureWatch {
 public:
  explicit DepartureWatch(EventLoop& loop);
  ~DepartureWatch();
  DepartureWatch(const DepartureWatch&) = delete;
  DepartureWatch& operator=(const DepartureWatch&) = delete;

  // `on_departure` runs once, from the loop, if the peer of `fd` closes while watched.
  void watch(int fd, std::function<void()> on_departure);
  void unwatch(int fd);
  size_t size() const { return watched_.size(); }

 private:
  void onReadable();

  EventLoop& loop_;
  int epoll_fd_ = -1;
  std::unordered_map<int, std::function<void()>> watched_;
  LoopHandle handle_;
};

}  // namespace sb::http
