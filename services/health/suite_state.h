#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sb/admin/readiness.h"
#include "sb/core/clock.h"

namespace sb::health {

// What sb-health last saw of the suite. Plain data, filled by the probers and read by the
// verdict, the status document and the metrics.

struct RouterState {
  std::string endpoint;
  bool up = false;
  std::optional<double> rtt_ms;
  int64_t uptime_ms = 0;
  std::string error;  // why the last status request failed
};

// A service as the routers see it (summed over routers).
struct ServiceState {
  std::string name;
  uint32_t workers = 0;  // registered
  uint32_t inflight = 0;
  uint32_t queued = 0;
};

// One readiness check a worker reported (`worker.ready`).
struct WorkerCheck {
  std::string name;
  bool ok = true;
  bool required = true;
  std::string detail;
};

struct InstanceState {
  std::string name;
  std::string service;
  std::string router;         // the first router that lists it
  bool draining = false;      // as the router sees it
  bool cooling_down = false;  // the router's passive health
  bool answered = false;      // its last worker.stats came back
  bool ready = true;          // its own readiness (worker.ready), when answered
  uint32_t inflight = 0, capacity = 0;
  uint64_t handled = 0, failed = 0, rejected = 0;
  std::optional<double> rtt_ms;
  int64_t uptime_ms = 0;
  std::string error;
  std::vector<WorkerCheck> checks;
  // "up" | "draining" | "cooling_down" | "not_ready" | "unresponsive"
  std::string state() const;
  // Takes new work: answers, ready, not draining.
  bool live() const { return state() == "up" || state() == "cooling_down"; }
};

struct RedisState {
  std::string address;
  std::string role;  // "master" | "replica" | "standalone" | "" (never reached)
  bool up = false;
  std::optional<std::string> cluster_state;  // CLUSTER INFO's cluster_state; none standalone
  std::optional<double> rtt_ms;
  std::string error;
};

struct SuiteState {
  std::vector<RouterState> routers;
  std::map<std::string, ServiceState> services;
  std::map<std::string, InstanceState> instances;  // by name
  std::map<std::string, RedisState> redis;         // by address
};

// The suite can serve when a router answers, every required service (all the routers know,
// when `required` is empty) has a live worker, and every Redis master or standalone node
// answers with its cluster (if any) ok. A replica down is reported, not missing.
// One check per router set ("router"), required service ("service NAME") and Redis node
// ("redis ADDRESS"), so /readyz names what is missing exactly as a process's own does.
admin::Readiness::Report assess(const SuiteState& s, const std::vector<std::string>& required);

struct WorkerCount {
  size_t live = 0;  // InstanceState::live()
  size_t all = 0;
};
WorkerCount workerCount(const SuiteState& s, const std::string& service);

// Every service a router knows, a worker serves, or `required` names; sorted, once each.
std::vector<std::string> serviceNames(const SuiteState& s,
                                      const std::vector<std::string>& required);

// The backend a worker's check describes (admin::kBackendCheckPrefix + NAME), or nullopt.
std::optional<std::string> backendOf(const WorkerCheck& c);

// The services that must have a live worker: `required`, or every known one when empty.
std::vector<std::string> requiredServices(const SuiteState& s,
                                          const std::vector<std::string>& required);

}  // namespace sb::health
