#pragma once

#include <cstdint>

#include "sb/core/clock.h"

namespace sb {

// A worker's view of one router: connected or not, registered or not, heard from lately or
// not, and how long to wait before connecting again. Pure: the worker library passes the time
// in and acts on the answers (connect, announce, heartbeat, drop the socket), so the rules are
// unit-tested in simulated time.
//
//   disconnected --connected()--> announced --heard()--> registered
//        ^                            |                       |
//        +------ lost(): wait backoff()  <-- silent(now) -----+
//
// The backoff starts at `backoff_min`, doubles after every loss up to `backoff_max`, and
// starts over once the router is heard from again.
class RouterLink {
 public:
  struct Options {
    Millis heartbeat{1000};
    uint32_t liveness = 3;
    Millis backoff_min{1000};
    Millis backoff_max{32000};
    // Added to heartbeat x liveness: the router heartbeats on its own 100 ms tick, so its
    // messages may come that much late.
    Millis grace{100};
  };
  enum class State : uint8_t { kDisconnected, kAnnounced, kRegistered };

  explicit RouterLink(Options options);

  // A new connection was made and the announcement sent: the router has heartbeat x liveness
  // to answer before the link counts as lost.
  void connected(TimePoint now);
  // A well-formed message came from the router. True when it registers us (the first since
  // connecting).
  bool heard(TimePoint now);
  // We announced again (the router said it does not know us): registered again once heard.
  void reannounced() {
    if (state_ == State::kRegistered) state_ = State::kAnnounced;
  }
  // Nothing heard for heartbeat x liveness + grace (checked on every heartbeat tick).
  bool silent(TimePoint now) const;
  // The link was dropped (silence, or the router refused us). Returns how long to wait before
  // connecting again.
  Millis lost();

  State state() const { return state_; }
  bool up() const { return state_ != State::kDisconnected; }
  bool registered() const { return state_ == State::kRegistered; }
  // Registered at least once since the worker started (the process has been serving).
  bool everRegistered() const { return ever_registered_; }
  Millis nextBackoff() const { return backoff_; }

  // Draining: a link is settled once the router acknowledged our drain, or when no router has
  // registered us on it (nobody there to send us work).
  void drainSent() { drain_acked_ = false; }
  void drainAcked() { drain_acked_ = true; }
  bool drainSettled() const { return drain_acked_ || state_ != State::kRegistered; }

 private:
  Options options_;
  State state_ = State::kDisconnected;
  TimePoint last_heard_{};
  Millis backoff_;
  bool ever_registered_ = false;
  bool drain_acked_ = false;
};

}  // namespace sb
