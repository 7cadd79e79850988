#include "sb/policy/balancer.h"

#include <algorithm>

namespace sb {

bool WorkerState::serves(std::string_view tag) const {
  if (tag.empty() || spec.tags.empty()) return true;
  return std::find(spec.tags.begin(), spec.tags.end(), tag) != spec.tags.end();
}

Balancer::Balancer(const Clock& clock, Random& random, FailurePolicy failure)
    : clock_(clock), random_(random), failure_(failure) {}

WorkerState* Balancer::findMutable(WorkerId id) {
  for (auto& w : workers_) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

const WorkerState* Balancer::find(WorkerId id) const {
  for (const auto& w : workers_) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

void Balancer::upsert(WorkerId id, WorkerSpec spec) {
  if (spec.weight == 0) spec.weight = 1;
  if (WorkerState* w = findMutable(id)) {
    w->spec = std::move(spec);
    return;
  }
  WorkerState w;
  w.id = id;
  w.spec = std::move(spec);
  workers_.push_back(std::move(w));
}

void Balancer::remove(WorkerId id) {
  workers_.erase(std::remove_if(workers_.begin(), workers_.end(),
                                [id](const WorkerState& w) { return w.id == id; }),
                 workers_.end());
}

void Balancer::setDraining(WorkerId id, bool draining) {
  if (WorkerState* w = findMutable(id)) w->draining = draining;
}

bool Balancer::eligible(const WorkerState& w, std::string_view tag) const {
  return !w.draining && w.inflight < w.spec.capacity && !coolingDown(w) && w.serves(tag);
}

std::optional<WorkerId> Balancer::select(std::string_view tag,
                                         const std::vector<WorkerId>& exclude) {
  // Cool-down steers work away from failing workers while others can take it. When every
  // worker that could take this request is cooling down, use them anyway (Envoy's panic
  // threshold, nginx's "a lone server is never marked unavailable"): refusing everything
  // would turn a partial failure into a total one.
  for (bool panic : {false, true}) {
    for (bool backup : {false, true}) {
      scratch_.clear();
      for (auto& w : workers_) {
        if (w.spec.backup != backup || w.draining || w.inflight >= w.spec.capacity ||
            !w.serves(tag) || (!panic && coolingDown(w)) ||
            std::find(exclude.begin(), exclude.end(), w.id) != exclude.end()) {
          continue;
        }
        scratch_.push_back(&w);
      }
      if (!scratch_.empty()) {
        WorkerState* chosen = scratch_[choose(scratch_)];
        ++chosen->selected;
        return chosen->id;
      }
    }
  }
  return std::nullopt;
}

void Balancer::onStart(WorkerId id) {
  if (WorkerState* w = findMutable(id)) ++w->inflight;
}

void Balancer::onFinish(WorkerId id, Outcome outcome) {
  WorkerState* w = findMutable(id);
  if (!w) return;
  if (w->inflight > 0) --w->inflight;
  if (outcome != Outcome::kFailure || failure_.max_fails == 0) return;
  TimePoint now = clock_.now();
  if (w->fails == 0 || now - w->window_start > failure_.fail_timeout) {
    w->window_start = now;
    w->fails = 0;
  }
  if (++w->fails >= failure_.max_fails) {
    w->cooled_until = now + failure_.fail_timeout;
    w->fails = 0;
  }
}

size_t LeastConnBalancer::choose(const std::vector<WorkerState*>& eligible) {
  // Score (inflight + 1) / weight, compared by cross-multiplication: with nothing in flight
  // the heavier worker goes first, and in steady state in-flight counts follow the weights.
  size_t best = 0;
  uint64_t ties = 1;
  for (size_t i = 1; i < eligible.size(); ++i) {
    const WorkerState& a = *eligible[i];
    const WorkerState& b = *eligible[best];
    uint64_t lhs = (uint64_t{a.inflight} + 1) * b.spec.weight;
    uint64_t rhs = (uint64_t{b.inflight} + 1) * a.spec.weight;
    if (lhs < rhs) {
      best = i;
      ties = 1;
    } else if (lhs == rhs && random().below(++ties) == 0) {
      // Reservoir sampling over the tied workers: each is equally likely.
      best = i;
    }
  }
  return best;
}

size_t RoundRobinBalancer::choose(const std::vector<WorkerState*>& eligible) {
  // Ids grow in join order: take the first eligible id after the last one chosen, else wrap.
  size_t pick = 0;
  for (size_t i = 0; i < eligible.size(); ++i) {
    if (eligible[i]->id > last_) {
      pick = i;
      break;
    }
  }
  last_ = eligible[pick]->id;
  return pick;
}

BalancerPtr makeBalancer(std::string_view policy, const Clock& clock, Random& random,
                         FailurePolicy failure) {
  if (policy == "least-conn") return std::make_unique<LeastConnBalancer>(clock, random, failure);
  if (policy == "round-robin") {
    return std::make_unique<RoundRobinBalancer>(clock, random, failure);
  }
  return nullptr;
}

}  // namespace sb
