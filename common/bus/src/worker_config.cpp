#include "sb/bus/worker_config.h"

#include "sb/core/config.h"

namespace sb {

void addWorkerOptions(CLI::App& app, WorkerOptions& o, WorkerFlags& f) {
  o.routers = {"tcp://127.0.0.1:5556"};
  app.add_option("--router", o.routers,
                 "Router backend endpoint; repeat (or comma-separate) to join several")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--capacity", o.capacity, "Requests served at once")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--weight", o.weight, "Relative share of work under least-connection")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_flag("--backup", o.backup, "Take work only when no primary worker can");
  app.add_option(
      "--name", o.name,
      "Instance name shown in status and used by drain (default: service-host-pid-random)");
  app.add_option("--model", o.models, "Model / route tag served; repeat for several (none: any)")
      ->delimiter(',');
  app.add_option("--heartbeat-ms", f.heartbeat_ms,
                 "Heartbeat interval, both directions (routers refuse less than 100)")
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}))
      ->capture_default_str();
  app.add_option("--liveness", o.liveness, "Heartbeats a router may miss before we reconnect")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--drain-timeout-ms", f.drain_timeout_ms,
                 "Longest wait for in-flight requests when draining")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-body", o.limits.max_body_bytes, "Largest request body accepted, in bytes")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  addCurveClientOptions(app, f.curve);
}

std::optional<std::string> applyWorkerOptions(WorkerOptions& o, const WorkerFlags& f) {
  o.heartbeat = Millis(f.heartbeat_ms);
  o.drain_timeout = Millis(f.drain_timeout_ms);
  return loadCurveClient(f.curve, o.curve);
}

}  // namespace sb
