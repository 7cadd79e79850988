#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/clock.h"
#include "sb/policy/backend_view.h"

namespace sb {

// The balancer's own vocabulary: it picks a *member* of a pool. The router's pools are the
// workers registered for a service; an inference worker's pool is its LLM backends.
using MemberId = uint64_t;

// What a member offers (a worker's announcement, a backend's configuration).
struct MemberSpec {
  uint32_t weight = 1;
  uint32_t capacity = 1;
  bool backup = false;
  std::vector<std::string> tags;  // models / route tags; empty = serves any
};

// How a request on a member ended, for passive failure detection.
enum class Outcome : uint8_t {
  kSuccess,
  kFailure,  // the member failed it (INTERNAL, UNAVAILABLE, died): counts toward max_fails
  kNeutral,  // ended for reasons that are not the member's fault (client error, cancel)
};

// nginx's max_fails / fail_timeout: `max_fails` failures within `fail_timeout` take the
// member out for `fail_timeout`. max_fails = 0 disables it.
struct FailurePolicy {
  uint32_t max_fails = 3;
  SteadyClock::duration fail_timeout = std::chrono::seconds(10);
};

struct MemberState {
  MemberId id = 0;
  MemberSpec spec;
  uint32_t inflight = 0;
  bool draining = false;
  TimePoint cooled_until{};
  TimePoint window_start{};
  uint32_t fails = 0;
  uint64_t selected = 0;  // times chosen

  bool serves(std::string_view tag) const;
};

// The balancing policy interface (brpc's LoadBalancer shape): pure code over member ids and
// counts. A member is eligible when it is not draining, not cooled down, below its capacity
// and serves the requested tag. Backups are considered only when no primary is eligible.
class Balancer {
 public:
  Balancer(const Clock& clock, Random& random, FailurePolicy failure = {});
  virtual ~Balancer() = default;

  // Adds a member, or replaces the spec of a known one (its counts are kept).
  void upsert(MemberId id, MemberSpec spec);
  void remove(MemberId id);
  void setDraining(MemberId id, bool draining);

  // The member for the next request with this tag ("" = any), or none when no member is
  // eligible. Does not count the request: call onStart when it is sent. A retry passes the
  // members it already tried in `exclude` (Envoy's previous-hosts predicate).
  std::optional<MemberId> select(std::string_view tag, const std::vector<MemberId>& exclude = {});
  void onStart(MemberId id);
  void onFinish(MemberId id, Outcome outcome);

  const MemberState* find(MemberId id) const;
  const std::vector<MemberState>& members() const { return members_; }
  bool coolingDown(const MemberState& m) const { return clock_.now() < m.cooled_until; }
  // A member as a backend view (passive health from the balancer, the rest from the caller).
  BackendView view(MemberId id, std::string name, uint32_t max_conns) const;
  bool eligible(const MemberState& m, std::string_view tag) const;

 protected:
  // Chooses among the eligible members of one tier (all primaries, or all backups); never empty.
  virtual size_t choose(const std::vector<MemberState*>& eligible) = 0;
  Random& random() { return random_; }

 private:
  MemberState* findMutable(MemberId id);

  const Clock& clock_;
  Random& random_;
  FailurePolicy failure_;
  std::vector<MemberState> members_;
  std::vector<MemberState*> scratch_;
};

using BalancerPtr = std::unique_ptr<Balancer>;

// Fewest in-flight requests relative to weight; ties broken at random.
class LeastConnBalancer final : public Balancer {
 public:
  using Balancer::Balancer;

 protected:
  size_t choose(const std::vector<MemberState*>& eligible) override;
};

// Each eligible member in turn, ignoring load (kept for comparison with least-conn).
class RoundRobinBalancer final : public Balancer {
 public:
  using Balancer::Balancer;

 protected:
  size_t choose(const std::vector<MemberState*>& eligible) override;

 private:
  MemberId last_ = 0;
};

// "least-conn" or "round-robin"; nullptr for an unknown name.
BalancerPtr makeBalancer(std::string_view policy, const Clock& clock, Random& random,
                         FailurePolicy failure = {});

}  // namespace sb
