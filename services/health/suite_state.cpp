#include "suite_state.h"

#include "sb/admin/backend_checks.h"

#include <algorithm>

namespace sb::health {

std::string InstanceState::state() const {
  if (!answered) return "unresponsive";
  if (draining) return "draining";
  if (!ready) return "not_ready";
  if (cooling_down) return "cooling_down";
  return "up";
}

std::vector<std::string> requiredServices(const SuiteState& s,
                                          const std::vector<std::string>& required) {
  if (!required.empty()) return required;
  std::vector<std::string> all;
  for (const auto& [name, svc] : s.services) all.push_back(name);
  return all;
}

WorkerCount workerCount(const SuiteState& s, const std::string& service) {
  WorkerCount n;
  for (const auto& [name, inst] : s.instances) {
    if (inst.service != service) continue;
    ++n.all;
    n.live += inst.live() ? 1 : 0;
  }
  return n;
}

std::vector<std::string> serviceNames(const SuiteState& s,
                                      const std::vector<std::string>& required) {
  std::vector<std::string> names = required;
  for (const auto& [name, svc] : s.services) names.push_back(name);
  for (const auto& [name, inst] : s.instances) names.push_back(inst.service);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::optional<std::string> backendOf(const WorkerCheck& c) {
  if (c.name.rfind(admin::kBackendCheckPrefix, 0) != 0) return std::nullopt;
  return c.name.substr(admin::kBackendCheckPrefix.size());
}

namespace {

// Why a service has no live worker, from its instances' states ("infer-a: draining").
std::string whyNoLive(const SuiteState& s, const std::string& service) {
  std::string why;
  for (const auto& [name, inst] : s.instances) {
    if (inst.service != service) continue;
    std::string reason = inst.state();
    if (reason == "not_ready") {
      for (const auto& c : inst.checks) {
        if (!c.ok && c.required) {
          reason = c.name + (c.detail.empty() ? "" : ": " + c.detail);
          break;
        }
      }
    } else if (reason == "unresponsive" && !inst.error.empty()) {
      reason += " (" + inst.error + ")";
    }
    if (!why.empty()) why += "; ";
    why += name;
    why += " ";
    why += reason;
  }
  return why.empty() ? "none registered" : why;
}

}  // namespace

admin::Readiness::Report assess(const SuiteState& s, const std::vector<std::string>& required) {
  admin::Readiness::Report report;
  auto check = [&report](std::string name, bool ok, std::string detail, bool needed = true) {
    if (!ok && needed) report.ready = false;
    report.checks.push_back({std::move(name), ok, needed, std::move(detail)});
  };
  size_t up = 0;
  std::string routers;
  for (const auto& r : s.routers) {
    up += r.up ? 1 : 0;
    if (!routers.empty()) routers += "; ";
    routers += r.endpoint;
    routers += r.up ? " answers" : r.error.empty() ? " down" : ": " + r.error;
  }
  check("router", up > 0,
        (up > 0 ? "" : "none answers: ") + (routers.empty() ? "none configured" : routers));
  for (const auto& service : requiredServices(s, required)) {
    WorkerCount n = workerCount(s, service);
    check("service " + service, n.live > 0,
          n.live > 0 ? std::to_string(n.live) + " of " + std::to_string(n.all) + " worker(s) live"
                     : "no live worker (" + whyNoLive(s, service) + ")");
  }
  for (const auto& [address, node] : s.redis) {
    bool needed = node.role != "replica";
    if (!node.up) {
      check("redis " + address, false, node.error.empty() ? "down" : node.error, needed);
    } else if (node.cluster_state && *node.cluster_state != "ok") {
      check("redis " + address, false, "cluster_state " + *node.cluster_state, needed);
    } else {
      check("redis " + address, true, node.cluster_state ? "cluster_state ok" : "answers PING",
            needed);
    }
  }
  return report;
}

}  // namespace sb::health
