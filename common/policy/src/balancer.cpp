#include "sb/policy/balancer.h"

#include <algorithm>

namespace sb {

bool MemberState::serves(std::string_view tag) const {
  if (tag.empty() || spec.tags.empty()) return true;
  return std::find(spec.tags.begin(), spec.tags.end(), tag) != spec.tags.end();
}

Balancer::Balancer(const Clock& clock, Random& random, FailurePolicy failure)
    : clock_(clock), random_(random), failure_(failure) {}

MemberState* Balancer::findMutable(MemberId id) {
  for (auto& w : members_) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

const MemberState* Balancer::find(MemberId id) const {
  for (const auto& w : members_) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

void Balancer::upsert(MemberId id, MemberSpec spec) {
  if (spec.weight == 0) spec.weight = 1;
  if (MemberState* w = findMutable(id)) {
    w->spec = std::move(spec);
    return;
  }
  MemberState w;
  w.id = id;
  w.spec = std::move(spec);
  members_.push_back(std::move(w));
}

void Balancer::remove(MemberId id) {
  members_.erase(std::remove_if(members_.begin(), members_.end(),
                                [id](const MemberState& w) { return w.id == id; }),
                 members_.end());
}

void Balancer::setDraining(MemberId id, bool draining) {
  if (MemberState* w = findMutable(id)) w->draining = draining;
}

bool Balancer::eligible(const MemberState& w, std::string_view tag) const {
  return !w.draining && w.inflight < w.spec.capacity && !coolingDown(w) && w.serves(tag);
}

std::optional<MemberId> Balancer::select(std::string_view tag,
                                         const std::vector<MemberId>& exclude) {
  // Cool-down steers work away from failing members while others can take it. When every
  // member that could take this request is cooling down, use them anyway (Envoy's panic
  // threshold, nginx's "a lone server is never marked unavailable"): refusing everything
  // would turn a partial failure into a total one.
  for (bool panic : {false, true}) {
    for (bool backup : {false, true}) {
      scratch_.clear();
      for (auto& w : members_) {
        if (w.spec.backup != backup || w.draining || w.inflight >= w.spec.capacity ||
            !w.serves(tag) || (!panic && coolingDown(w)) ||
            std::find(exclude.begin(), exclude.end(), w.id) != exclude.end()) {
          continue;
        }
        scratch_.push_back(&w);
      }
      if (!scratch_.empty()) {
        MemberState* chosen = scratch_[choose(scratch_)];
        ++chosen->selected;
        return chosen->id;
      }
    }
  }
  return std::nullopt;
}

void Balancer::onStart(MemberId id) {
  if (MemberState* w = findMutable(id)) ++w->inflight;
}

void Balancer::onFinish(MemberId id, Outcome outcome) {
  MemberState* w = findMutable(id);
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

size_t LeastConnBalancer::choose(const std::vector<MemberState*>& eligible) {
  // Score (inflight + 1) / weight, compared by cross-multiplication: with nothing in flight
  // the heavier member goes first, and in steady state in-flight counts follow the weights.
  size_t best = 0;
  uint64_t ties = 1;
  for (size_t i = 1; i < eligible.size(); ++i) {
    const MemberState& a = *eligible[i];
    const MemberState& b = *eligible[best];
    uint64_t lhs = (uint64_t{a.inflight} + 1) * b.spec.weight;
    uint64_t rhs = (uint64_t{b.inflight} + 1) * a.spec.weight;
    if (lhs < rhs) {
      best = i;
      ties = 1;
    } else if (lhs == rhs && random().below(++ties) == 0) {
      // Reservoir sampling over the tied members: each is equally likely.
      best = i;
    }
  }
  return best;
}

size_t RoundRobinBalancer::choose(const std::vector<MemberState*>& eligible) {
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

BackendView Balancer::view(MemberId id, std::string name, uint32_t max_conns) const {
  const MemberState* m = find(id);
  BackendView v;
  v.name = std::move(name);
  v.inflight = m ? m->inflight : 0;
  v.max_conns = max_conns;
  v.cooling_down = m && coolingDown(*m);
  return v;
}

}  // namespace sb
