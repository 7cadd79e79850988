#include "health_config.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "sb/bus/worker_config.h"
#include "sb/core/config.h"
#include "sb/core/signals.h"
#include "sb/redis/redis_url.h"

namespace sb::health {

std::optional<int> parseHealthConfig(int argc, char** argv, HealthConfig& c) {
  CLI::App app{
      "Switchboard health: probes routers, workers and Redis; serves /readyz for the whole "
      "suite, /status, a live status page at / and /metrics on --admin-http",
      "sb-health"};
  c.worker.service = "health";
  c.common.admin_http = "127.0.0.1:8090";
  WorkerFlags wf;
  addWorkerOptions(app, c.worker, wf);
  app.add_option("--probe-router", c.health.routers,
                 "A router's client endpoint to probe (repeat for several routers)")
      ->capture_default_str();
  app.add_option("--require", c.health.required,
                 "A service that must have a live worker for /readyz (repeat or "
                 "comma-separate). None: every service the routers know")
      ->delimiter(',');
  std::vector<std::string> redis;
  app.add_option("--redis", redis,
                 "A Redis node to probe, or a cluster seed (its nodes are found): "
                 "redis://[user:password@]host:port (repeat)");
  int64_t interval_ms = c.health.interval.count(), timeout_ms = c.health.timeout.count();
  app.add_option("--probe-interval-ms", interval_ms, "Time between probe rounds")
      ->check(CLI::Range(int64_t{50}, int64_t{3600000}))
      ->capture_default_str();
  app.add_option("--probe-timeout-ms", timeout_ms, "Longest wait for one probe's answer")
      ->check(CLI::Range(int64_t{10}, int64_t{600000}))
      ->capture_default_str();
  app.add_option("--window-s", c.health.window_s,
                 "Rates and percentiles on /status cover this many seconds")
      ->check(CLI::Range(int64_t{10}, int64_t{86400}))
      ->capture_default_str();
  app.add_flag("--gather-metrics", c.health.gather_metrics,
               "/metrics also carries every router's and worker's series, labelled service and "
               "instance (for one machine without service discovery)");
  bool no_bus = false;
  app.add_flag("--no-bus-op", no_bus, "Do not register with the routers (no health.status op)");
  addCommonOptions(app, c.common);
  app.get_option("--admin-http")
      ->description(
          "Serve the status page (/), /status, /readyz (the whole suite's), /livez, "
          "/healthz and /metrics on this IP:PORT")
      ->capture_default_str();
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  if (auto err = applyWorkerOptions(c.worker, wf)) {
    std::fprintf(stderr, "sb-health: %s\n", err->c_str());
    return 2;
  }
  c.serve_bus = !no_bus;
  c.health.curve = c.worker.curve;
  c.health.interval = Millis(interval_ms);
  c.health.timeout = Millis(timeout_ms);
  for (const auto& text : redis) {
    redis::RedisUrl url;
    if (proto::Status st = redis::parseRedisUrl(text, url); !st.ok()) {
      std::fprintf(stderr, "sb-health: --redis: %s\n", st.message.c_str());
      return 2;
    }
    c.health.redis.push_back(url.node);
    if (c.health.redis_connection.password.empty()) {
      c.health.redis_connection.user = url.user;
      c.health.redis_connection.password = url.password;
    }
  }
  c.health.redis_connection.command_timeout = c.health.timeout;
  c.health.redis_connection.connect_timeout = c.health.timeout;
  return std::nullopt;
}

int runHealth(HealthConfig& c) {
  setupLogging("health", c.common);
  zmq::context_t context(1);
  EventLoop loop;
  HealthService service(context, loop, c.health);
  admin::AdminPlane admin(loop, c.common);
  if (!admin.start()) return 1;
  service.serve(admin);
  service.start();
  if (!c.serve_bus) {
    auto signals = onTerminationSignal(loop, [&](int signo) {
      spdlog::info("signal {}, stopping", signo);
      loop.stop();
    });
    notifyReady(c.common.ready_fd, c.common.admin_http);
    loop.run();
    return 0;
  }
  Worker worker(context, loop, c.worker);
  admin.watchWorker(worker);
  service.serveBus(worker);
  return runWorker(worker, c.common.ready_fd);
}

}  // namespace sb::health
