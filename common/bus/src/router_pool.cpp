#include "sb/bus/router_pool.h"

namespace sb {

RouterPool::RouterPool(size_t routers, Options options, TimePoint now)
    : options_(options), routers_(routers) {
  // A connecting router has heartbeat x liveness to answer, like a worker's router link.
  for (Entry& e : routers_) e.last_heard = now;
}

void RouterPool::heartbeat(size_t i, TimePoint now) {
  routers_[i].state = State::kLive;
  routers_[i].last_heard = now;
}

void RouterPool::drain(size_t i, TimePoint now) {
  routers_[i].state = State::kDraining;
  routers_[i].last_heard = now;
}

void RouterPool::heard(size_t i, TimePoint now) {
  Entry& e = routers_[i];
  e.last_heard = now;
  if (e.state == State::kSilent || e.state == State::kConnecting) e.state = State::kLive;
}

std::vector<size_t> RouterPool::checkSilence(TimePoint now) {
  std::vector<size_t> out;
  Millis limit = options_.heartbeat * options_.liveness + options_.grace;
  for (size_t i = 0; i < routers_.size(); ++i) {
    Entry& e = routers_[i];
    if (e.state == State::kSilent || now - e.last_heard <= limit) continue;
    e.state = State::kSilent;
    out.push_back(i);
  }
  return out;
}

std::optional<size_t> RouterPool::choose(const std::vector<size_t>& inflight) {
  std::optional<size_t> best;
  bool live = anyLive();
  State wanted = live ? State::kLive : State::kConnecting;
  size_t n = routers_.size();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (turn_ + k) % n;
    if (routers_[i].state != wanted) continue;
    if (!best || inflight[i] < inflight[*best]) best = i;
  }
  if (best) turn_ = (*best + 1) % n;
  return best;
}

bool RouterPool::anyLive() const {
  for (const Entry& e : routers_) {
    if (e.state == State::kLive) return true;
  }
  return false;
}

const char* RouterPool::name(State s) {
  switch (s) {
    case State::kConnecting:
      return "connecting";
    case State::kLive:
      return "live";
    case State::kDraining:
      return "draining";
    case State::kSilent:
      return "silent";
  }
  return "?";
}

}  // namespace sb
