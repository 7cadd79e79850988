#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sb/core/clock.h"

namespace sb {

// A client's view of the routers it is connected to (PROTOCOL.md 4.5): which of them may take a
// new request. Pure: the client library passes the time in and acts on the answers, so the
// rules are unit-tested in simulated time.
//
//   connecting --heartbeat--> live --drain--> draining
//        |                     |                 |
//        +----- silence -------+---> silent <----+   (a heartbeat makes any of them live)
//
// The client heartbeats every router every `heartbeat`; a router answers `heartbeat`, or
// `drain` while it drains. Any frame refreshes a router's liveness; nothing for
// heartbeat x liveness + grace makes it silent.
class RouterPool {
 public:
  struct Options {
    Millis heartbeat{1000};
    uint32_t liveness = 3;
    Millis grace{100};
  };
  enum class State : uint8_t { kConnecting, kLive, kDraining, kSilent };

  RouterPool(size_t routers, Options options, TimePoint now);

  // A `heartbeat` from router i: it takes requests.
  void heartbeat(size_t i, TimePoint now);
  // A `drain` from router i: it finishes what it has and takes nothing new.
  void drain(size_t i, TimePoint now);
  // Any other frame from router i (an answer): alive, state unchanged, except that a silent or
  // connecting router that answers is live again.
  void heard(size_t i, TimePoint now);
  // Routers that went silent by `now` (each reported once per silence).
  std::vector<size_t> checkSilence(TimePoint now);

  // The router for a new request: a live one with the fewest requests in flight (ties taken in
  // turn); else, while no router has answered yet, a connecting one (its socket queues the
  // request until it connects). Nullopt when every router is draining or silent.
  std::optional<size_t> choose(const std::vector<size_t>& inflight);

  State state(size_t i) const { return routers_[i].state; }
  size_t size() const { return routers_.size(); }
  bool anyLive() const;
  static const char* name(State s);

 private:
  struct Entry {
    State state = State::kConnecting;
    TimePoint last_heard{};
  };
  Options options_;
  std::vector<Entry> routers_;
  size_t turn_ = 0;
};

}  // namespace sb
