#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/clock.h"

namespace sb {

using WorkerId = uint64_t;

// What a worker announced about itself.
struct WorkerSpec {
  uint32_t weight = 1;
  uint32_t capacity = 1;
  bool backup = false;
  std::vector<std::string> tags;  // models / route tags; empty = serves any
};

// How a request on a worker ended, for passive failure detection.
enum class Outcome : uint8_t {
  kSuccess,
  kFailure,  // the worker failed it (INTERNAL, UNAVAILABLE, died): counts toward max_fails
  kNeutral,  // ended for reasons that are not the worker's fault (client error, cancel)
};

// nginx's max_fails / fail_timeout: `max_fails` failures within `fail_timeout` take the
// worker out for `fail_timeout`. max_fails = 0 disables it.
struct FailurePolicy {
  uint32_t max_fails = 3;
  SteadyClock::duration fail_timeout = std::chrono::seconds(10);
};

struct WorkerState {
  WorkerId id = 0;
  WorkerSpec spec;
  uint32_t inflight = 0;
  bool draining = false;
  TimePoint cooled_until{};
  TimePoint window_start{};
  uint32_t fails = 0;
  uint64_t selected = 0;  // times chosen

  bool serves(std::string_view tag) const;
};

// The balancing policy interface (brpc's LoadBalancer shape): pure code over worker ids and
// counts. A worker is eligible when it is not draining, not cooled down, below its capacity
// and serves the requested tag. Backups are considered only when no primary is eligible.
class Balancer {
 public:
  Balancer(const Clock& clock, Random& random, FailurePolicy failure = {});
  virtual ~Balancer() = default;

  // Adds a worker, or replaces the spec of a known one (its counts are kept).
  void upsert(WorkerId id, WorkerSpec spec);
  void remove(WorkerId id);
  void setDraining(WorkerId id, bool draining);

  // The worker for the next request with this tag ("" = any), or none when no worker is
  // eligible. Does not count the request: call onStart when it is sent. A retry passes the
  // workers it already tried in `exclude` (Envoy's previous-hosts predicate).
  std::optional<WorkerId> select(std::string_view tag, const std::vector<WorkerId>& exclude = {});
  void onStart(WorkerId id);
  void onFinish(WorkerId id, Outcome outcome);

  const WorkerState* find(WorkerId id) const;
  const std::vector<WorkerState>& workers() const { return workers_; }
  bool coolingDown(const WorkerState& w) const { return clock_.now() < w.cooled_until; }
  bool eligible(const WorkerState& w, std::string_view tag) const;

 protected:
  // Chooses among the eligible workers of one tier (all primaries, or all backups); never empty.
  virtual size_t choose(const std::vector<WorkerState*>& eligible) = 0;
  Random& random() { return random_; }

 private:
  WorkerState* findMutable(WorkerId id);

  const Clock& clock_;
  Random& random_;
  FailurePolicy failure_;
  std::vector<WorkerState> workers_;
  std::vector<WorkerState*> scratch_;
};

using BalancerPtr = std::unique_ptr<Balancer>;

// Fewest in-flight requests relative to weight; ties broken at random.
class LeastConnBalancer final : public Balancer {
 public:
  using Balancer::Balancer;

 protected:
  size_t choose(const std::vector<WorkerState*>& eligible) override;
};

// Each eligible worker in turn, ignoring load (kept for comparison with least-conn).
class RoundRobinBalancer final : public Balancer {
 public:
  using Balancer::Balancer;

 protected:
  size_t choose(const std::vector<WorkerState*>& eligible) override;

 private:
  WorkerId last_ = 0;
};

// "least-conn" or "round-robin"; nullptr for an unknown name.
BalancerPtr makeBalancer(std::string_view policy, const Clock& clock, Random& random,
                         FailurePolicy failure = {});

}  // namespace sb
