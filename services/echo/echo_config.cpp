#include "echo_config.h"

#include <cstdio>
#include <cstdlib>

#include "sb/admin/admin_plane.h"
#include "sb/bus/worker_config.h"
#include "sb/core/config.h"

namespace sb::echo {

std::optional<int> parseEchoOptions(int argc, char** argv, WorkerOptions& worker, EchoOptions& echo,
                                    CommonOptions& common) {
  CLI::App app{"Switchboard echo worker: answers 'echo' with the request body", "sb-echo"};
  worker.service = "echo";
  WorkerFlags flags;
  addWorkerOptions(app, worker, flags);
  app.add_option("--service", worker.service, "Service name to register as")->capture_default_str();
  app.add_option("--chunks", echo.chunks, "Stream the body back as N chunks, then a reply")
      ->capture_default_str();
  auto* fixed = app.add_option("--delay-ms", echo.delay_ms, "Fixed service time per request")
                    ->check(sb::nonNegativeNumber())
                    ->capture_default_str();
  std::string lognormal;
  app.add_option("--delay-lognormal", lognormal,
                 "Service time exp(N(MU,SIGMA)) ms, given as MU,SIGMA (heavy tail)")
      ->excludes(fixed);
  app.add_option("--slots", echo.slots, "Requests in service at once, the rest wait (0: capacity)")
      ->capture_default_str();
  app.add_option("--seed", echo.seed, "Seed for the service-time draw (0: random)");
  addCommonOptions(app, common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  if (!lognormal.empty()) {
    double mu = 0, sigma = 0;
    auto comma = lognormal.find(',');
    bool ok = comma != std::string::npos;
    if (ok) {
      const char* s = lognormal.c_str();
      char* end = nullptr;
      mu = std::strtod(s, &end);
      ok = end == s + comma;
      sigma = std::strtod(s + comma + 1, &end);
      ok = ok && end != s + comma + 1 && *end == '\0';
    }
    if (!ok || sigma < 0) {
      std::fprintf(stderr, "sb-echo: --delay-lognormal takes MU,SIGMA (e.g. 2.3,1.0)\n");
      return 2;
    }
    echo.lognormal = true;
    echo.mu = mu;
    echo.sigma = sigma;
  }
  if (auto err = applyWorkerOptions(worker, flags)) {
    std::fprintf(stderr, "sb-echo: %s\n", err->c_str());
    return 2;
  }
  return std::nullopt;
}

int runEcho(WorkerOptions worker_options, const EchoOptions& echo, CommonOptions& common) {
  setupLogging("echo", common);
  zmq::context_t context(1);
  EventLoop loop;
  Worker worker(context, loop, std::move(worker_options));
  EchoService service(worker, echo);
  admin::AdminPlane admin(loop, common);
  admin.watchWorker(worker);
  if (!admin.start()) return 1;
  return runWorker(worker, common.ready_fd);
}

}  // namespace sb::echo
