#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "sb/core/clock.h"

namespace sb {

class EventLoop;

// A registration with an event loop (a timer, a socket or fd watch, a before-poll callback).
// Cancelling it, or destroying it, guarantees its callback never runs again: an object that
// registers callbacks capturing `this` holds their handles as members, so they go with it
// (Envoy's Cancellable; docs/lifetimes.md). Move-only. The loop must outlive its handles.
class [[nodiscard]] LoopHandle {
 public:
  LoopHandle() = default;
  LoopHandle(LoopHandle&& other) noexcept;
  LoopHandle& operator=(LoopHandle&& other) noexcept;
  LoopHandle(const LoopHandle&) = delete;
  LoopHandle& operator=(const LoopHandle&) = delete;
  ~LoopHandle() { cancel(); }

  void cancel();
  // Still registered: not cancelled, and (for one-shots) not yet run.
  bool active() const;
  explicit operator bool() const { return active(); }

 private:
  friend class EventLoop;
  LoopHandle(EventLoop* loop, uint64_t id) : loop_(loop), id_(id) {}
  EventLoop* loop_ = nullptr;
  uint64_t id_ = 0;
};

// One event loop per process: zmq_poll over ZMQ sockets and plain file descriptors (hiredis
// and libcurl join through addFd), timers, and callbacks run before the next poll.
// Single-threaded; every callback runs on the thread that runs the loop. Callbacks may add or
// cancel registrations, including their own.
//
// Time and randomness are the loop's: code on the loop reads now() and random(), so a test
// builds the loop over a ManualClock and a seeded random source and drives it with advance()
// (simulated time: heartbeats, deadlines and backoffs run in microseconds, no sleeping).
//
// An exception escaping a callback is caught here, counted and logged: it ends that callback,
// never the process (the data plane uses status values; this is the last boundary).
class EventLoop {
 public:
  EventLoop();                              // the real clock, randomness seeded by the OS
  EventLoop(Clock& clock, Random& random);  // injected (tests: ManualClock + SeededRandom)
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `on_readable` whenever the socket has a message (level-triggered).
  LoopHandle addSocket(zmq::socket_ref socket, std::function<void()> on_readable);
  // Calls `handler(revents)` when `fd` is ready for `events` (ZMQ_POLLIN / ZMQ_POLLOUT).
  LoopHandle addFd(int fd, short events, std::function<void(short)> handler);
  // Changes what a socket or fd registration waits for.
  void setEvents(const LoopHandle& handle, short events);

  LoopHandle after(SteadyClock::duration delay, std::function<void()> fn);
  LoopHandle every(SteadyClock::duration interval, std::function<void()> fn);
  // Runs `fn` once, after the current round's callbacks and before the loop next waits: for
  // output buffered during a round (hiredis), written once for the whole round.
  LoopHandle beforePoll(std::function<void()> fn);
  // Fire and forget, at the same point: for work that owns everything it touches.
  void post(std::function<void()> fn);
  // Deferred deletion (Envoy's DeferredDeletable): `object` is destroyed once the current
  // round's callbacks have returned, so an object still on the call stack is never freed in
  // place.
  template <typename T>
  void deleteLater(std::unique_ptr<T> object) {
    if (object) graveyard_.push_back(std::shared_ptr<void>(std::move(object)));
  }

  // Runs until stop() is called (from a callback).
  void run();
  void stop() { stopped_ = true; }
  // One round: before-poll callbacks, a poll waiting at most `max_wait` (less when a timer is
  // due sooner), socket/fd callbacks, due timers, deferred deletions.
  void runOnce(SteadyClock::duration max_wait);
  // Simulated time (the loop was built over a ManualClock): runs every timer due within `d`
  // in order, moving the clock to each one's time and polling I/O (without waiting) between
  // them, then moves the clock to the end of `d`.
  void advance(SteadyClock::duration d);

  // The time when the loop last woke up (refreshed after every poll and before timers), so
  // handlers of one wake-up share one clock read: clock_gettime is not free on a VM.
  TimePoint now() const { return now_; }
  WallTime wallNow() const { return clock_.wallNow(); }
  Clock& clock() { return clock_; }
  Random& random() { return random_; }
  // Exceptions caught at callback boundaries since start.
  uint64_t callbackErrors() const { return callback_errors_; }

  // Runs `fn` inside the loop's exception boundary: what escapes is logged (with `what`) and
  // counted. For entry points from C libraries (hiredis, libcurl), through which an exception
  // must never unwind.
  template <typename F>
  void guarded(std::string_view what, F&& fn) noexcept {
    try {
      fn();
    } catch (const std::exception& e) {
      onCallbackError(what, e.what());
    } catch (...) {
      onCallbackError(what, "unknown exception");
    }
  }

 private:
  friend class LoopHandle;
  struct Watch {
    void* socket = nullptr;
    int fd = -1;
    short events = 0;
    std::function<void()> on_socket;
    std::function<void(short)> on_fd;
  };
  struct Timer {
    std::function<void()> fn;
    SteadyClock::duration interval{};  // zero for one-shot
  };
  struct Due {
    TimePoint when;
    uint64_t id;
    bool operator>(const Due& o) const { return when > o.when || (when == o.when && id > o.id); }
  };
  struct Pending {
    uint64_t id;  // 0: posted, not cancellable
    std::function<void()> fn;
  };

  void cancel(uint64_t id);
  bool active(uint64_t id) const;
  LoopHandle handle(uint64_t id);
  void rebuild();
  void runPending();
  void fireTimers(TimePoint until);
  void dropCancelledTimers();
  void collectGarbage();
  void onCallbackError(std::string_view what, const char* why) noexcept;

  std::unique_ptr<RealClock> own_clock_;
  std::unique_ptr<Random> own_random_;
  Clock& clock_;
  Random& random_;
  ManualClock* manual_ = nullptr;  // set when time is simulated

  std::unordered_map<uint64_t, Watch> watches_;
  std::vector<uint64_t> polled_;  // watch ids, parallel to items_
  std::vector<zmq_pollitem_t> items_;
  bool dirty_ = true;
  std::unordered_map<uint64_t, Timer> timers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  std::vector<Pending> pending_;
  std::unordered_set<uint64_t> pending_ids_;  // cancellable before-poll callbacks not yet run
  std::vector<std::shared_ptr<void>> graveyard_;
  uint64_t next_id_ = 1;
  uint64_t callback_errors_ = 0;
  size_t handles_ = 0;  // LoopHandle objects pointing here (each must go before the loop)
  bool stopped_ = false;
  TimePoint now_;
};

}  // namespace sb
