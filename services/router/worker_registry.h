#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sb/core/clock.h"
#include "sb/policy/balancer.h"
#include "sb/proto/announcement.h"
#include "sb/proto/status.h"

namespace sb::router {

// A worker registered with this router.
struct RegisteredWorker {
  MemberId id = 0;
  std::string identity;  // its connection's routing identity
  std::string name;
  std::string service;
  uint64_t instance = 0;  // per process run (0: not announced)
  MemberSpec spec;
  TimePoint joined{};
  TimePoint last_seen{};
  TimePoint next_heartbeat{};
  Millis heartbeat{1000};
  uint32_t liveness = 3;
  bool draining = false;
  uint64_t dispatched = 0;
  uint64_t failures = 0;
  std::string curve_key;  // its CURVE public key (Z85), when the router runs CURVE
};

// The heartbeat rules, shared by the registry and the documentation (PROTOCOL.md 5.2).
struct HeartbeatRules {
  Millis tick{100};  // how often the router looks; the resolution of everything below
  Millis default_interval{1000};
  uint32_t default_liveness = 3;
  Millis min_interval{100};  // announced intervals below the tick are refused
};

// Who is registered, by connection, id and name, and the rules for joining and for staying:
// a name is unique among live workers; a worker silent for heartbeat x liveness plus one tick
// is dead. Pure: the router passes the time in and acts on the answers.
class WorkerRegistry {
 public:
  explicit WorkerRegistry(HeartbeatRules rules = {}) : rules_(rules) {}

  // What to do with an announcement from `identity`.
  struct Admission {
    enum Kind : uint8_t {
      kNew,      // a new worker
      kUpdate,   // the same connection announcing again (after our bye): keep its counts
      kReplace,  // the same process on a new connection: remove `previous`, then add
      kMove,     // the same connection, another service: remove `previous`, then add
      kRefuse,   // answer with `why` (INVALID_ARGUMENT)
    } kind = kNew;
    MemberId previous = 0;
    std::string why;
  };
  Admission admit(std::string_view identity, const proto::Announcement& a) const;
  // Adds, or updates the worker on `identity` (kUpdate). Call after removing `previous`.
  RegisteredWorker& upsert(std::string_view identity, const proto::Announcement& a, TimePoint now);
  // Removes the worker from every index and hands it back (nullopt if it was not there).
  std::optional<RegisteredWorker> remove(MemberId id);

  RegisteredWorker* byId(MemberId id);
  RegisteredWorker* byIdentity(std::string_view identity);
  // The live worker named `name` in `service` ("" = any service), or nullptr.
  RegisteredWorker* byName(std::string_view name, std::string_view service = {});
  const std::unordered_map<MemberId, RegisteredWorker>& all() const { return workers_; }
  size_t size() const { return workers_.size(); }

  // Any message counts as a sign of life.
  void seen(RegisteredWorker& w, TimePoint now) { w.last_seen = now; }
  // Workers silent for longer than heartbeat x liveness + one tick.
  std::vector<MemberId> dead(TimePoint now) const;
  // Workers we owe a heartbeat now; each is rescheduled one interval on.
  std::vector<MemberId> heartbeatsDue(TimePoint now);
  const HeartbeatRules& rules() const { return rules_; }

 private:
  HeartbeatRules rules_;
  std::unordered_map<MemberId, RegisteredWorker> workers_;
  std::unordered_map<std::string, MemberId> by_identity_;
  MemberId next_id_ = 1;
};

}  // namespace sb::router
