#include "restart_policy.h"

#include <algorithm>

namespace sb::ctl {

std::optional<Millis> RestartPolicy::crashed(TimePoint now) {
  if (now - started_ >= options_.stable) next_ = options_.first;  // it had settled
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > options_.window) crashes_.pop_front();
  if (static_cast<int>(crashes_.size()) > options_.limit) return std::nullopt;
  Millis wait = next_;
  next_ = std::min(next_ * 2, options_.max);
  ++restarts_;
  return wait;
}

}  // namespace sb::ctl
