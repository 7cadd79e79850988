#include "router_config.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "sb/admin/admin_plane.h"
#include "sb/core/config.h"
#include "sb/core/signals.h"

namespace sb::router {

std::optional<int> parseRouterOptions(int argc, char** argv, RouterOptions& o,
                                      CommonOptions& common) {
  CLI::App app{"Switchboard router: least-connection broker between clients and workers",
               "sb-router"};
  app.add_option("--client-bind,--frontend", o.clients, "ZMQ endpoint clients connect to")
      ->capture_default_str();
  app.add_option("--worker-bind,--backend", o.workers, "ZMQ endpoint workers connect to")
      ->capture_default_str();
  app.add_option("--policy", o.policy, "least-conn or round-robin")
      ->check(CLI::IsMember({"least-conn", "round-robin"}))
      ->capture_default_str();
  app.add_option("--queue-size", o.queue_size,
                 "Requests waiting per service before RESOURCE_EXHAUSTED")
      ->capture_default_str();
  int64_t deadline_ms = o.default_deadline.count();
  app.add_option("--default-deadline-ms", deadline_ms, "Deadline for requests that carry none")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  int64_t heartbeat_ms = o.heartbeat.default_interval.count();
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval for workers that announce none (at least 100)")
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}))
      ->capture_default_str();
  app.add_option("--liveness", o.heartbeat.default_liveness,
                 "Heartbeats a worker may miss before it is removed (for workers that announce "
                 "none)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  int64_t grace_ms = o.no_worker_grace.count();
  app.add_option("--no-worker-grace-ms", grace_ms,
                 "How long requests wait for a service with no live worker before UNAVAILABLE")
      ->check(sb::nonNegativeNumber())
      ->capture_default_str();
  int64_t drain_ms = o.drain_timeout.count();
  app.add_option("--drain-timeout-ms", drain_ms,
                 "On SIGTERM: longest wait for accepted requests to finish (new ones go to "
                 "other routers); a second signal stops at once")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-fails", o.failure.max_fails,
                 "Worker failures within --fail-timeout-ms that cool it down (0: never)")
      ->capture_default_str();
  int64_t fail_timeout_ms = std::chrono::duration_cast<Millis>(o.failure.fail_timeout).count();
  app.add_option("--fail-timeout-ms", fail_timeout_ms, "Failure window and cool-down length")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-body", o.limits.max_body_bytes, "Largest body frame accepted, in bytes")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-header", o.limits.max_header_bytes,
                 "Largest header frame accepted, in bytes")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  std::string curve_secret;
  app.add_option("--curve-secret", curve_secret,
                 "CURVE: the router's certificate (NAME.key_secret from sbctl keygen); with "
                 "--curve-peers, both endpoints are encrypted and only listed keys get in");
  app.add_option("--curve-peers", o.peers_file,
                 "CURVE: the allow-list of client and worker keys (TOML); reloaded on SIGHUP");
  addCommonOptions(app, common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  if (curve_secret.empty() != o.peers_file.empty()) {
    std::fprintf(stderr, "sb-router: CURVE needs both --curve-secret and --curve-peers\n");
    return 2;
  }
  if (!curve_secret.empty()) {
    auth::CurveKeyPair pair;
    auto peers = std::make_shared<auth::CurvePeers>();
    auto err = auth::readCurveCertificate(curve_secret, true, pair);
    if (!err) err = auth::readCurvePeers(o.peers_file, *peers);
    if (err) {
      std::fprintf(stderr, "sb-router: %s\n", err->c_str());
      return 2;
    }
    o.curve = pair;
    o.peers = std::move(peers);
  }
  o.default_deadline = Millis(deadline_ms);
  o.heartbeat.default_interval = Millis(heartbeat_ms);
  o.no_worker_grace = Millis(grace_ms);
  o.drain_timeout = Millis(drain_ms);
  o.failure.fail_timeout = Millis(fail_timeout_ms);
  return std::nullopt;
}

int runRouter(const RouterOptions& options, CommonOptions& common) {
  setupLogging("router", common);
  zmq::context_t context(1);
  EventLoop loop;
  std::unique_ptr<Router> router;
  try {
    router = std::make_unique<Router>(context, loop, options);
  } catch (const zmq::error_t& e) {
    spdlog::critical("cannot bind: {}", e.what());
    return 1;
  }
  admin::AdminPlane admin(loop, common);
  admin.addMetrics([&router] { return router->metricsText(); });
  router->setMetricsSource([&admin] { return admin.metricsText(); });
  if (!admin.start()) return 1;
  auto signals = onTerminationSignal(loop, [&](int signo) {
    if (router->draining()) {
      spdlog::info("signal {} while draining, stopping now", signo);
      loop.stop();
      return;
    }
    spdlog::info("signal {}, draining", signo);
    admin.readiness().stopping("draining");
    router->drain(options.drain_timeout, [&loop] { loop.stop(); });
  });
  LoopHandle reload;
  if (options.curve) {
    reload = onReloadSignal(loop, [&] {
      auto peers = std::make_shared<auth::CurvePeers>();
      if (auto err = auth::readCurvePeers(options.peers_file, *peers)) {
        spdlog::error("CURVE peers not reloaded, the previous list stays: {}", *err);
        return;
      }
      spdlog::info("CURVE peers reloaded: {} client and {} worker keys",
                   peers->size(auth::PeerRole::kClient), peers->size(auth::PeerRole::kWorker));
      router->setPeers(std::move(peers));
    });
  }
  notifyReady(common.ready_fd, router->clientEndpoint() + " " + router->workerEndpoint());
  loop.run();
  return 0;
}

}  // namespace sb::router
