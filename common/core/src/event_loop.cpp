#include "sb/core/event_loop.h"

#include <algorithm>
#include <cassert>

#include <spdlog/spdlog.h>

namespace sb {

// ---- LoopHandle ----

LoopHandle::LoopHandle(LoopHandle&& other) noexcept : loop_(other.loop_), id_(other.id_) {
  other.loop_ = nullptr;
  other.id_ = 0;
}

LoopHandle& LoopHandle::operator=(LoopHandle&& other) noexcept {
  if (this != &other) {
    cancel();
    loop_ = other.loop_;
    id_ = other.id_;
    other.loop_ = nullptr;
    other.id_ = 0;
  }
  return *this;
}

void LoopHandle::cancel() {
  if (!loop_) return;
  loop_->cancel(id_);
  --loop_->handles_;
  loop_ = nullptr;
  id_ = 0;
}

bool LoopHandle::active() const { return loop_ && loop_->active(id_); }

// ---- EventLoop ----

EventLoop::EventLoop()
    : own_clock_(std::make_unique<RealClock>()),
      own_random_(std::make_unique<SeededRandom>(osSeed())),
      clock_(*own_clock_),
      random_(*own_random_),
      now_(clock_.now()) {}

EventLoop::EventLoop(Clock& clock, Random& random)
    : clock_(clock),
      random_(random),
      manual_(dynamic_cast<ManualClock*>(&clock)),
      now_(clock_.now()) {}

EventLoop::~EventLoop() {
  collectGarbage();
  // Every object holding a registration must be gone before its loop (docs/lifetimes.md).
  assert(handles_ == 0 && "a LoopHandle outlived its EventLoop");
}

LoopHandle EventLoop::handle(uint64_t id) {
  ++handles_;
  return LoopHandle(this, id);
}

LoopHandle EventLoop::addSocket(zmq::socket_ref socket, std::function<void()> on_readable) {
  uint64_t id = next_id_++;
  Watch& w = watches_[id];
  w.socket = socket.handle();
  w.events = ZMQ_POLLIN;
  w.on_socket = std::move(on_readable);
  dirty_ = true;
  return handle(id);
}

LoopHandle EventLoop::addFd(int fd, short events, std::function<void(short)> handler) {
  uint64_t id = next_id_++;
  Watch& w = watches_[id];
  w.fd = fd;
  w.events = events;
  w.on_fd = std::move(handler);
  dirty_ = true;
  return handle(id);
}

void EventLoop::setEvents(const LoopHandle& h, short events) {
  if (h.loop_ != this) return;
  auto it = watches_.find(h.id_);
  if (it == watches_.end() || it->second.events == events) return;
  it->second.events = events;
  dirty_ = true;
}

LoopHandle EventLoop::after(SteadyClock::duration delay, std::function<void()> fn) {
  uint64_t id = next_id_++;
  timers_.emplace(id, Timer{std::move(fn), {}});
  due_.push({now_ + delay, id});
  return handle(id);
}

LoopHandle EventLoop::every(SteadyClock::duration interval, std::function<void()> fn) {
  uint64_t id = next_id_++;
  timers_.emplace(id, Timer{std::move(fn), interval});
  due_.push({now_ + interval, id});
  return handle(id);
}

LoopHandle EventLoop::beforePoll(std::function<void()> fn) {
  uint64_t id = next_id_++;
  pending_.push_back({id, std::move(fn)});
  pending_ids_.insert(id);
  return handle(id);
}

void EventLoop::post(std::function<void()> fn) { pending_.push_back({0, std::move(fn)}); }

void EventLoop::cancel(uint64_t id) {
  if (timers_.erase(id)) return;
  if (watches_.erase(id)) {
    dirty_ = true;
    return;
  }
  pending_ids_.erase(id);
}

bool EventLoop::active(uint64_t id) const {
  return timers_.count(id) || watches_.count(id) || pending_ids_.count(id);
}

void EventLoop::onCallbackError(std::string_view what, const char* why) noexcept {
  ++callback_errors_;
  try {
    spdlog::error("{} callback failed with an exception: {}", what, why);
  } catch (...) {
  }
}

void EventLoop::rebuild() {
  items_.clear();
  polled_.clear();
  for (const auto& [id, w] : watches_) {
    items_.push_back(zmq_pollitem_t{w.socket, w.fd, w.events, 0});
    polled_.push_back(id);
  }
  dirty_ = false;
}

void EventLoop::runPending() {
  while (!pending_.empty()) {
    auto batch = std::move(pending_);
    pending_.clear();
    for (auto& p : batch) {
      if (p.id != 0 && !pending_ids_.erase(p.id)) continue;  // cancelled
      guarded("before-poll", p.fn);
    }
  }
}

void EventLoop::dropCancelledTimers() {
  // Cancelled timers at the top would shorten the wait for nothing.
  while (!due_.empty() && !timers_.count(due_.top().id)) due_.pop();
}

void EventLoop::fireTimers(TimePoint until) {
  while (!due_.empty() && due_.top().when <= until) {
    Due d = due_.top();
    due_.pop();
    auto it = timers_.find(d.id);
    if (it == timers_.end()) continue;  // cancelled
    if (it->second.interval.count() > 0) {
      TimePoint next = d.when + it->second.interval;
      due_.push({next < until ? until + it->second.interval : next, d.id});
      auto fn = it->second.fn;  // the callback may cancel its own timer
      guarded("timer", fn);
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      guarded("timer", fn);
    }
  }
}

void EventLoop::collectGarbage() {
  while (!graveyard_.empty()) {
    auto dead = std::move(graveyard_);
    graveyard_.clear();
    dead.clear();  // destructors may defer more deletions
  }
}

void EventLoop::runOnce(SteadyClock::duration max_wait) {
  runPending();
  if (dirty_) rebuild();
  dropCancelledTimers();
  now_ = clock_.now();
  auto wait = max_wait;
  if (!due_.empty()) wait = std::min<SteadyClock::duration>(wait, due_.top().when - now_);
  if (!pending_.empty() || wait < SteadyClock::duration::zero()) wait = {};
  // zmq_poll takes milliseconds: round up so a timer is never woken for early.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait);
  int rc = zmq_poll(items_.data(), static_cast<int>(items_.size()), static_cast<long>(ms.count()));
  now_ = clock_.now();
  if (rc > 0) {
    // Registrations made by callbacks are polled next round; cancelled ones are skipped.
    for (size_t i = 0; i < items_.size() && !stopped_; ++i) {
      short rev = items_[i].revents;
      if (rev == 0) continue;
      auto it = watches_.find(polled_[i]);
      if (it == watches_.end()) continue;
      if (it->second.socket) {
        auto fn = it->second.on_socket;  // the callback may cancel its own registration
        guarded("socket", fn);
      } else {
        auto fn = it->second.on_fd;
        guarded("fd", [&] { fn(rev); });
      }
    }
  }
  now_ = clock_.now();
  fireTimers(now_);
  collectGarbage();
}

void EventLoop::run() {
  stopped_ = false;
  while (!stopped_) runOnce(std::chrono::seconds(1));
}

void EventLoop::advance(SteadyClock::duration d) {
  assert(manual_ && "advance() needs a loop built over a ManualClock");
  if (!manual_) return;
  TimePoint target = manual_->now() + d;
  while (true) {
    runOnce({});
    dropCancelledTimers();
    if (due_.empty() || due_.top().when > target) break;
    if (due_.top().when > manual_->now()) manual_->advance(due_.top().when - manual_->now());
  }
  if (target > manual_->now()) manual_->advance(target - manual_->now());
  runOnce({});
}

}  // namespace sb
