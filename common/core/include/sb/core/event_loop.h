#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "sb/core/clock.h"

namespace sb {

// One event loop per process: zmq_poll over ZMQ sockets and plain file descriptors (hiredis
// and libcurl join through addFd), plus one-shot and periodic timers. Single-threaded; every
// callback runs on the thread that called run(). Callbacks may add or remove sockets, fds and
// timers, including their own.
class EventLoop {
 public:
  using TimerId = uint64_t;

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `on_readable` whenever the socket has a message (level-triggered).
  void addSocket(zmq::socket_ref socket, std::function<void()> on_readable);
  void removeSocket(zmq::socket_ref socket);

  // Calls `handler(revents)` when `fd` is ready for `events` (ZMQ_POLLIN / ZMQ_POLLOUT).
  void addFd(int fd, short events, std::function<void(short)> handler);
  void setFdEvents(int fd, short events);
  void removeFd(int fd);

  // Runs `fn` once, after the current round's callbacks and before the loop next waits: for
  // output buffered during a round (hiredis), written once for the whole round without an
  // extra poll round for writability.
  void beforePoll(std::function<void()> fn) { before_poll_.push_back(std::move(fn)); }

  TimerId after(SteadyClock::duration delay, std::function<void()> fn);
  TimerId every(SteadyClock::duration interval, std::function<void()> fn);
  void cancel(TimerId id);

  // Runs until stop() is called (from a callback or a signal handler callback).
  void run();
  void stop() { stopped_ = true; }
  // One poll + dispatch round, waiting at most `max_wait`; for tests and embedding.
  void runOnce(SteadyClock::duration max_wait);

  // The time when the loop last woke up (refreshed after every poll and before timers), so
  // handlers of one wake-up share one clock read: clock_gettime is not free on a VM.
  TimePoint now() const { return now_; }

 private:
  struct Entry {
    void* socket = nullptr;
    int fd = -1;
    short events = 0;
    std::function<void()> on_socket;
    std::function<void(short)> on_fd;
    bool removed = false;
  };
  struct Timer {
    std::function<void()> fn;
    SteadyClock::duration interval{};  // zero for one-shot
  };
  struct Due {
    TimePoint when;
    TimerId id;
    bool operator>(const Due& o) const { return when > o.when || (when == o.when && id > o.id); }
  };

  void rebuild();
  void fireTimers();

  std::vector<Entry> entries_;
  std::vector<std::function<void()>> before_poll_;
  std::vector<zmq_pollitem_t> items_;
  bool dirty_ = true;
  std::unordered_map<TimerId, Timer> timers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  TimerId next_timer_ = 1;
  bool stopped_ = false;
  TimePoint now_ = SteadyClock::now();
};

}  // namespace sb
