#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "suite_state.h"
#include "traffic.h"

namespace sb::health {

// One point of the status page's charts, per probe round.
struct HistoryPoint {
  int64_t t_ms = 0;  // wall clock
  std::optional<double> request_rate, error_rate, latency_p99_ms, ttft_p99_ms;
  uint32_t inflight = 0;
};

struct StatusContext {
  int64_t now_ms = 0;  // wall clock
  int64_t probe_interval_ms = 0;
  int64_t window_s = 0;
  std::vector<std::string> required;  // as configured (empty: every known service)
};

// The /status document (and the bus op health.status): the verdict, routers, services with
// their traffic, instances, Redis nodes, backends (from the workers' readiness checks named
// "backend NAME") and the recent history. PROTOCOL.md §6.4 describes it.
nlohmann::json statusJson(const SuiteState& s, const admin::Readiness::Report& verdict,
                          const Traffic& traffic, const std::deque<HistoryPoint>& history,
                          const StatusContext& ctx);

}  // namespace sb::health
