#include "sb/core/event_loop.h"

#include <algorithm>

namespace sb {

void EventLoop::addSocket(zmq::socket_ref socket, std::function<void()> on_readable) {
  Entry e;
  e.socket = socket.handle();
  e.events = ZMQ_POLLIN;
  e.on_socket = std::move(on_readable);
  entries_.push_back(std::move(e));
  dirty_ = true;
}

void EventLoop::removeSocket(zmq::socket_ref socket) {
  for (auto& e : entries_) {
    if (e.socket == socket.handle() && !e.removed) e.removed = true;
  }
  dirty_ = true;
}

void EventLoop::addFd(int fd, short events, std::function<void(short)> handler) {
  Entry e;
  e.fd = fd;
  e.events = events;
  e.on_fd = std::move(handler);
  entries_.push_back(std::move(e));
  dirty_ = true;
}

void EventLoop::setFdEvents(int fd, short events) {
  for (auto& e : entries_) {
    if (e.socket == nullptr && e.fd == fd && !e.removed) e.events = events;
  }
  dirty_ = true;
}

void EventLoop::removeFd(int fd) {
  for (auto& e : entries_) {
    if (e.socket == nullptr && e.fd == fd) e.removed = true;
  }
  dirty_ = true;
}

EventLoop::TimerId EventLoop::after(SteadyClock::duration delay, std::function<void()> fn) {
  TimerId id = next_timer_++;
  timers_.emplace(id, Timer{std::move(fn), {}});
  due_.push({now() + delay, id});
  return id;
}

EventLoop::TimerId EventLoop::every(SteadyClock::duration interval, std::function<void()> fn) {
  TimerId id = next_timer_++;
  timers_.emplace(id, Timer{std::move(fn), interval});
  due_.push({now() + interval, id});
  return id;
}

void EventLoop::cancel(TimerId id) { timers_.erase(id); }

void EventLoop::rebuild() {
  entries_.erase(
      std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.removed; }),
      entries_.end());
  items_.clear();
  for (const auto& e : entries_) {
    items_.push_back(zmq_pollitem_t{e.socket, e.fd, e.events, 0});
  }
  dirty_ = false;
}

void EventLoop::fireTimers() {
  TimePoint t = now_ = SteadyClock::now();
  while (!due_.empty() && due_.top().when <= t) {
    Due d = due_.top();
    due_.pop();
    auto it = timers_.find(d.id);
    if (it == timers_.end()) continue;  // cancelled
    if (it->second.interval.count() > 0) {
      due_.push({d.when + it->second.interval < t ? t + it->second.interval
                                                  : d.when + it->second.interval,
                 d.id});
      auto fn = it->second.fn;  // the callback may cancel its own timer
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
}

void EventLoop::runOnce(SteadyClock::duration max_wait) {
  while (!before_poll_.empty()) {
    auto fns = std::move(before_poll_);
    before_poll_.clear();
    for (auto& fn : fns) fn();
  }
  if (dirty_) rebuild();
  // Drop cancelled timers from the top so they do not shorten the wait.
  while (!due_.empty() && !timers_.count(due_.top().id)) due_.pop();
  auto wait = max_wait;
  now_ = SteadyClock::now();
  if (!due_.empty()) wait = std::min<SteadyClock::duration>(wait, due_.top().when - now_);
  if (wait < SteadyClock::duration::zero()) wait = SteadyClock::duration::zero();
  // zmq_poll takes milliseconds: round up so a timer is never woken for early.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait);
  int rc = zmq_poll(items_.data(), static_cast<int>(items_.size()), static_cast<long>(ms.count()));
  now_ = SteadyClock::now();
  if (rc > 0) {
    // Snapshot count: callbacks may append entries (they are polled next round).
    size_t n = items_.size();
    for (size_t i = 0; i < n && !stopped_; ++i) {
      short rev = items_[i].revents;
      if (rev == 0 || entries_[i].removed) continue;
      if (entries_[i].socket) {
        auto fn = entries_[i].on_socket;
        fn();
      } else {
        auto fn = entries_[i].on_fd;
        fn(rev);
      }
    }
  }
  fireTimers();
}

void EventLoop::run() {
  stopped_ = false;
  while (!stopped_) runOnce(std::chrono::seconds(1));
}

}  // namespace sb
