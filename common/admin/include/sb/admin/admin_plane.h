#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sb/admin/admin_server.h"
#include "sb/admin/readiness.h"
#include "sb/bus/worker.h"
#include "sb/core/options.h"
#include "sb/metrics/metrics.h"

namespace sb::admin {

// One process's probes and metrics, whatever the service: its readiness checks, its metrics
// (the service's own registry text plus the process series, `sb_ready` and, for a worker, the
// worker library's series), the admin HTTP listener when --admin-http is set, and for a worker
// the bus ops `worker.metrics` and `worker.ready` (so sb-health can gather both without
// knowing the process's admin port).
class AdminPlane {
 public:
  AdminPlane(EventLoop& loop, const CommonOptions& common);
  ~AdminPlane();
  AdminPlane(const AdminPlane&) = delete;
  AdminPlane& operator=(const AdminPlane&) = delete;

  Readiness& readiness() { return readiness_; }
  MetricsRegistry& metrics() { return registry_; }
  // A piece of the process's exposition (a service's registry), rendered at every scrape.
  void addMetrics(std::function<std::string()> text);
  // Sets series of the process registry from the service's state, at every scrape.
  void onScrape(std::function<void(MetricsRegistry&)> refresh);
  // Ready while registered with at least one router and not draining; the worker's counters
  // as metrics; `worker.metrics` and `worker.ready` answered on the bus.
  void watchWorker(Worker& worker);
  // Replaces the checks as the answer of /readyz and sb_ready (sb-health answers for the
  // whole suite). `worker.ready` keeps answering for the process itself.
  void setReadiness(std::function<Readiness::Report()> readiness);
  // Rewrites what /metrics serves (sb-health adds every instance's series); `worker.metrics`
  // keeps serving the process's own.
  void transformMetrics(std::function<std::string(const std::string&)> fn);
  // Listens when --admin-http was given; false (logged) when it cannot: the process should
  // exit 1, as with any port it cannot bind.
  bool start();
  AdminServer* server() { return server_.get(); }

  // The process's own exposition.
  std::string metricsText();
  Readiness::Report readinessReport() const;

 private:
  EventLoop& loop_;
  std::string listen_;
  Readiness readiness_;
  MetricsRegistry registry_;
  std::vector<std::function<std::string()>> sources_;
  std::vector<std::function<void(MetricsRegistry&)>> refreshers_;
  std::function<Readiness::Report()> readiness_override_;
  std::function<std::string(const std::string&)> transform_;
  std::unique_ptr<AdminServer> server_;
  const Worker* worker_ = nullptr;  // the process's worker, which outlives the loop's run
};

}  // namespace sb::admin
