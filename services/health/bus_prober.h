#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "sb/bus/async_client.h"
#include "suite_state.h"

namespace sb::health {

// Probes the bus on every round: each router's `status` and `metrics`, then every worker it
// lists, by name: `worker.stats` (the ping: in flight, capacity, counters), `worker.ready` (its
// own readiness checks: router links, Redis, backends) and `worker.metrics` (its exposition,
// kept for /metrics and the traffic figures). A request still out from the previous round is
// not sent again; an instance no router has listed for three rounds is forgotten.
class BusProber {
 public:
  BusProber(zmq::context_t& context, EventLoop& loop, const std::vector<std::string>& routers,
            Millis interval, Millis timeout, const CurveClientKeys& curve = {});
  ~BusProber();

  void probe();
  std::vector<RouterState> routers() const;
  std::map<std::string, ServiceState> services() const;
  const std::map<std::string, InstanceState>& instances() const { return instances_; }
  // The latest exposition text of each router (by endpoint) and worker (by instance name).
  const std::map<std::string, std::string>& routerMetrics() const { return router_metrics_; }
  const std::map<std::string, std::string>& workerMetrics() const { return worker_metrics_; }
  // Called for every probe that ended: "router" or "worker", its round trip, success.
  void onProbe(std::function<void(const char*, double, bool)> fn) { on_probe_ = std::move(fn); }

 private:
  struct Router {
    std::string endpoint;
    std::unique_ptr<AsyncClient> client;
    RouterState state;
    std::vector<ServiceState> services;
    bool status_out = false, metrics_out = false;
  };
  struct Out {
    bool stats = false, ready = false, metrics = false;
  };
  void onStatus(size_t r, const nlohmann::json& status);
  void probeWorker(const std::string& name);
  void ask(const std::string& name, const char* op, bool Out::*flag,
           std::function<void(const Incoming&)> done);
  void forgetStale();
  void probed(const char* target, TimePoint sent, bool ok);

  EventLoop& loop_;
  Millis interval_, timeout_;
  std::vector<Router> routers_;
  std::map<std::string, InstanceState> instances_;
  std::map<std::string, TimePoint> last_listed_;
  std::map<std::string, size_t> via_;  // instance -> router index
  std::map<std::string, Out> out_;
  std::map<std::string, std::string> router_metrics_, worker_metrics_;
  std::function<void(const char*, double, bool)> on_probe_;
};

}  // namespace sb::health
