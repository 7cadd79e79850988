#pragma once

#include <deque>
#include <optional>

#include "sb/core/clock.h"

namespace sb::ctl {

// When to start a crashed process again: exponential backoff from `first` doubling up to
// `max`, back to `first` once a run lasted `stable`; after more than `limit` crashes within
// `window`, give up. Pure: the supervisor passes the time in (unit-tested in simulated time).
class RestartPolicy {
 public:
  struct Options {
    Millis first{500};
    Millis max{30000};
    Millis stable{30000};
    int limit = 5;
    Millis window{60000};
  };

  explicit RestartPolicy(Options options) : options_(options), next_(options.first) {}

  void started(TimePoint now) { started_ = now; }
  // The process exited without being asked to at `now`: the wait before starting it again, or
  // nullopt to give up.
  std::optional<Millis> crashed(TimePoint now);
  int restarts() const { return restarts_; }

 private:
  Options options_;
  Millis next_;
  TimePoint started_{};
  std::deque<TimePoint> crashes_;
  int restarts_ = 0;
};

}  // namespace sb::ctl
