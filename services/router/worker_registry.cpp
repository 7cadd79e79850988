#include "worker_registry.h"

namespace sb::router {

WorkerRegistry::Admission WorkerRegistry::admit(std::string_view identity,
                                                const proto::Announcement& a) const {
  Admission out;
  if (a.service == "router") {
    out.kind = Admission::kRefuse;
    out.why = "'router' is the router's own service";
    return out;
  }
  if (a.heartbeat_ms != 0 && Millis(a.heartbeat_ms) < rules_.min_interval) {
    out.kind = Admission::kRefuse;
    out.why = "heartbeat interval of " + std::to_string(a.heartbeat_ms) +
              " ms is below the router's resolution of " +
              std::to_string(rules_.min_interval.count()) + " ms";
    return out;
  }
  const RegisteredWorker* same_connection = nullptr;
  if (auto it = by_identity_.find(std::string(identity)); it != by_identity_.end()) {
    same_connection = &workers_.at(it->second);
  }
  for (const auto& [id, w] : workers_) {
    if (w.name != a.name || &w == same_connection) continue;
    // The name is taken by another connection. The same process reconnecting (its instance
    // number matches) replaces its old registration, which is as good as dead; anyone else is
    // refused, so that `to` and drain name exactly one worker.
    if (a.instance != 0 && a.instance == w.instance) {
      out.kind = Admission::kReplace;
      out.previous = id;
      return out;
    }
    out.kind = Admission::kRefuse;
    out.why = "a live worker is already registered as '" + a.name + "' (in '" + w.service +
              "'); names must be unique";
    return out;
  }
  if (same_connection) {
    out.previous = same_connection->id;
    out.kind = same_connection->service == a.service ? Admission::kUpdate : Admission::kMove;
  }
  return out;
}

RegisteredWorker& WorkerRegistry::upsert(std::string_view identity, const proto::Announcement& a,
                                         TimePoint now) {
  RegisteredWorker* w = byIdentity(identity);
  if (!w) {
    MemberId id = next_id_++;
    w = &workers_[id];
    w->id = id;
    w->identity = std::string(identity);
    w->joined = now;
    by_identity_[w->identity] = id;
  }
  w->name = a.name;
  w->service = a.service;
  w->instance = a.instance;
  w->spec.capacity = a.capacity;
  w->spec.weight = a.weight;
  w->spec.backup = a.backup;
  w->spec.tags = a.models;
  w->heartbeat = a.heartbeat_ms ? Millis(a.heartbeat_ms) : rules_.default_interval;
  w->liveness = a.liveness ? a.liveness : rules_.default_liveness;
  w->last_seen = now;
  w->next_heartbeat = now + w->heartbeat;
  return *w;
}

std::optional<RegisteredWorker> WorkerRegistry::remove(MemberId id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return std::nullopt;
  by_identity_.erase(it->second.identity);
  RegisteredWorker out = std::move(it->second);
  workers_.erase(it);
  return out;
}

RegisteredWorker* WorkerRegistry::byId(MemberId id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

RegisteredWorker* WorkerRegistry::byIdentity(std::string_view identity) {
  auto it = by_identity_.find(std::string(identity));
  return it == by_identity_.end() ? nullptr : &workers_.at(it->second);
}

RegisteredWorker* WorkerRegistry::byName(std::string_view name, std::string_view service) {
  for (auto& [id, w] : workers_) {
    if (w.name == name && (service.empty() || w.service == service)) return &w;
  }
  return nullptr;
}

std::vector<MemberId> WorkerRegistry::dead(TimePoint now) const {
  std::vector<MemberId> out;
  for (const auto& [id, w] : workers_) {
    // One tick of grace: silence is only measured every tick.
    if (now - w.last_seen > w.heartbeat * w.liveness + rules_.tick) out.push_back(id);
  }
  return out;
}

std::vector<MemberId> WorkerRegistry::heartbeatsDue(TimePoint now) {
  std::vector<MemberId> out;
  for (auto& [id, w] : workers_) {
    if (now < w.next_heartbeat) continue;
    out.push_back(id);
    w.next_heartbeat += w.heartbeat;
    if (w.next_heartbeat <= now) w.next_heartbeat = now + w.heartbeat;  // fell behind
  }
  return out;
}

}  // namespace sb::router
