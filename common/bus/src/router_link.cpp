#include "sb/bus/router_link.h"

#include <algorithm>

namespace sb {

RouterLink::RouterLink(Options options) : options_(options), backoff_(options.backoff_min) {}

void RouterLink::connected(TimePoint now) {
  state_ = State::kAnnounced;
  last_heard_ = now;  // grace: the router has liveness intervals to answer
}

bool RouterLink::heard(TimePoint now) {
  last_heard_ = now;
  if (state_ == State::kRegistered) return false;
  state_ = State::kRegistered;
  ever_registered_ = true;
  backoff_ = options_.backoff_min;
  return true;
}

bool RouterLink::silent(TimePoint now) const {
  return up() && now - last_heard_ > options_.heartbeat * options_.liveness + options_.grace;
}

Millis RouterLink::lost() {
  state_ = State::kDisconnected;
  Millis wait = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  return wait;
}

}  // namespace sb
