#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus_prober.h"
#include "redis_prober.h"
#include "sb/admin/admin_plane.h"
#include "status_json.h"
#include "traffic.h"

namespace sb::health {

struct HealthOptions {
  std::vector<std::string> routers{"tcp://127.0.0.1:5555"};  // client endpoints probed
  std::vector<std::string> required;  // services that must have a live worker; empty: all known
  std::vector<redis::Node> redis;     // nodes (or cluster seeds) probed
  redis::ConnectionOptions redis_connection;
  Millis interval{1000};
  Millis timeout{800};
  int64_t window_s = 300;
  bool gather_metrics = false;  // /metrics also carries every instance's series
  CurveClientKeys curve;        // the probes' CURVE keys (the worker's own)
};

// The whole suite's view: probes routers, workers and Redis nodes every interval; serves the
// verdict at /readyz, the picture at /status (and the bus op health.status), the status page
// at /, and its probe metrics (optionally with every instance's) at /metrics.
class HealthService {
 public:
  HealthService(zmq::context_t& context, EventLoop& loop, HealthOptions options);
  ~HealthService();

  void start();
  // Routes /, /status and the readiness and metrics hooks on the process's admin plane; the
  // bus op health.status on its worker (if any).
  void serve(admin::AdminPlane& admin);
  void serveBus(Worker& worker);

  SuiteState state() const;
  admin::Readiness::Report verdict() const;
  nlohmann::json status() const;

 private:
  void round();
  void updateMetrics(MetricsRegistry& m) const;
  std::string gathered(const std::string& own) const;

  EventLoop& loop_;
  HealthOptions options_;
  BusProber bus_;
  RedisProber redis_;
  Traffic traffic_;  // the status window
  Traffic recent_;   // the last few rounds, for the history charts
  std::deque<HistoryPoint> history_;
  std::string self_;  // our own worker's name: not gathered (its series are ours already)
  LoopHandle timer_;
};

}  // namespace sb::health
