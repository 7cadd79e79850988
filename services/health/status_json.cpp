#include "status_json.h"

#include <algorithm>

namespace sb::health {

using json = nlohmann::json;

namespace {

template <typename T>
json orNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json percentiles(const std::optional<Percentiles>& p) {
  if (!p) return nullptr;
  return {{"p50", p->p50}, {"p90", p->p90}, {"p99", p->p99}};
}

// "backend NAME" checks reported by a worker.
void addBackends(const InstanceState& inst, json& out) {
  for (const auto& c : inst.checks) {
    std::optional<std::string> backend = backendOf(c);
    if (!backend) continue;
    std::string state = c.ok                                                 ? "up"
                        : c.detail.find("cooling down") != std::string::npos ? "cooling_down"
                                                                             : "down";
    if (!inst.answered) state = "unknown";
    out.push_back({{"instance", inst.name},
                   {"service", inst.service},
                   {"name", *backend},
                   {"state", state},
                   {"detail", c.detail}});
  }
}

}  // namespace

json statusJson(const SuiteState& s, const admin::Readiness::Report& verdict,
                const Traffic& traffic, const std::deque<HistoryPoint>& history,
                const StatusContext& ctx) {
  std::vector<std::string> required = requiredServices(s, ctx.required);
  json routers = json::array();
  for (const auto& r : s.routers) {
    routers.push_back({{"endpoint", r.endpoint},
                       {"up", r.up},
                       {"rtt_ms", orNull(r.rtt_ms)},
                       {"uptime_ms", r.uptime_ms},
                       {"error", r.error}});
  }
  json services = json::array();
  for (const auto& name : serviceNames(s, required)) {
    ServiceState svc;
    if (auto it = s.services.find(name); it != s.services.end()) svc = it->second;
    WorkerCount n = workerCount(s, name);
    ServiceTraffic t = traffic.of(name);
    services.push_back(
        {{"name", name},
         {"required", std::find(required.begin(), required.end(), name) != required.end()},
         {"workers", n.all},
         {"live", n.live},
         {"inflight", svc.inflight},
         {"queued", svc.queued},
         {"request_rate", orNull(t.request_rate)},
         {"error_rate", orNull(t.error_rate)},
         {"errors_by_code", t.errors_by_code},
         {"latency_ms", percentiles(t.latency_ms)},
         {"ttft_ms", percentiles(t.ttft_ms)}});
  }
  json instances = json::array(), backends = json::array();
  for (const auto& [name, inst] : s.instances) {
    json checks = json::array();
    for (const auto& c : inst.checks) {
      checks.push_back(
          {{"name", c.name}, {"ok", c.ok}, {"required", c.required}, {"detail", c.detail}});
    }
    instances.push_back({{"name", name},
                         {"service", inst.service},
                         {"router", inst.router},
                         {"state", inst.state()},
                         {"inflight", inst.inflight},
                         {"capacity", inst.capacity},
                         {"queue", 0},
                         {"rtt_ms", orNull(inst.rtt_ms)},
                         {"handled", inst.handled},
                         {"failed", inst.failed},
                         {"rejected", inst.rejected},
                         {"uptime_ms", inst.uptime_ms},
                         {"error", inst.error},
                         {"checks", checks}});
    addBackends(inst, backends);
  }
  json redis = json::array();
  for (const auto& [address, node] : s.redis) {
    redis.push_back({{"address", address},
                     {"role", node.role},
                     {"up", node.up},
                     {"cluster_state", orNull(node.cluster_state)},
                     {"rtt_ms", orNull(node.rtt_ms)},
                     {"error", node.error}});
  }
  json points = json::array();
  for (const auto& p : history) {
    points.push_back({{"t_ms", p.t_ms},
                      {"request_rate", orNull(p.request_rate)},
                      {"error_rate", orNull(p.error_rate)},
                      {"inflight", p.inflight},
                      {"latency_p99_ms", orNull(p.latency_p99_ms)},
                      {"ttft_p99_ms", orNull(p.ttft_p99_ms)}});
  }
  return {{"ready", verdict.ready},
          {"missing", admin::missingChecks(verdict)},
          {"generated_at_ms", ctx.now_ms},
          {"probe_interval_ms", ctx.probe_interval_ms},
          {"window_s", ctx.window_s},
          {"required", required},
          {"routers", routers},
          {"services", services},
          {"instances", instances},
          {"redis", redis},
          {"backends", backends},
          {"history", points}};
}

}  // namespace sb::health
