#include "inference_config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/spdlog.h>

#include "openai_backend.h"
#include "sb/admin/backend_checks.h"
#include "sb/bus/worker_config.h"
#include "sb/core/backend_flag.h"
#include "sb/core/config.h"
#include "sb/http/http_client.h"
#include "sb/proto/body_codec.h"

namespace sb::inference {

std::optional<std::string> parseBackend(const std::string& text, BackendConfig& out) {
  BackendFlag f;
  f.kind = out.kind;
  f.url = out.url;
  f.models = out.spec.models;
  f.weight = out.spec.weight;
  f.max_conns = out.spec.max_conns;
  f.backup = out.spec.backup;
  f.name = out.spec.name;
  f.api_key_env = out.api_key_env;
  if (auto err = parseBackendFlag(text, {"demo", "openai"}, {"openai"}, f)) return err;
  out.kind = f.kind;
  out.url = f.url;
  out.api_key_env = f.api_key_env;
  out.spec.name = f.name;
  out.spec.models = f.models;
  out.spec.weight = f.weight;
  out.spec.max_conns = f.max_conns;
  out.spec.backup = f.backup;
  return std::nullopt;
}

std::optional<int> parseInferenceConfig(int argc, char** argv, InferenceConfig& c) {
  CLI::App app{
      "Switchboard inference dispatch: streams chat completions from LLM backends to the bus",
      "sb-inference-dispatch"};
  c.worker.service = "infer";
  WorkerFlags wf;
  addWorkerOptions(app, c.worker, wf);
  std::vector<std::string> backends;
  app.add_option("--llm-backend", backends,
                 "A backend: kind=demo|openai,url=URL,models=a|b,weight=N,max_conns=N,backup,"
                 "api_key_env=VAR,name=NAME; repeat. None: one demo backend serving any model");
  int64_t first_ms = c.dispatch.first_token_timeout.count(),
          idle_ms = c.dispatch.idle_timeout.count(), connect_ms = c.connect_timeout.count(),
          demo_first_ms = c.demo.first_token.count();
  app.add_option("--first-token-timeout-ms", first_ms, "Longest wait for a backend's first token")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_ms, "Longest gap between two tokens")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--connect-timeout-ms", connect_ms, "Connect timeout to an HTTP backend")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-tries", c.dispatch.max_tries, "Backends tried before the first token")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  int64_t fail_timeout_ms = 10000, probe_ms = 0;
  app.add_option("--probe-interval-ms", probe_ms,
                 "Active health check of openai backends (GET /v1/models); 0: off")
      ->check(sb::nonNegativeNumber())
      ->capture_default_str();
  app.add_option("--max-fails", c.dispatch.failure.max_fails,
                 "Backend failures within the window that cool it down; 0 disables")
      ->capture_default_str();
  app.add_option("--fail-timeout-ms", fail_timeout_ms, "The failure window, and the cool-down")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--demo-first-token-ms", demo_first_ms, "Demo backend: time to first token")
      ->check(sb::nonNegativeNumber())
      ->capture_default_str();
  app.add_option("--demo-tokens-per-second", c.demo.tokens_per_second,
                 "Demo backend: tokens per second")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--demo-max-tokens", c.demo.default_max_tokens,
                 "Demo backend: tokens when the request gives no max_tokens")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  addCommonOptions(app, c.common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  if (auto err = applyWorkerOptions(c.worker, wf)) {
    std::fprintf(stderr, "sb-inference-dispatch: %s\n", err->c_str());
    return 2;
  }
  if (app.count("--capacity") > 0) c.capacity_cap = c.worker.capacity;
  c.dispatch.first_token_timeout = Millis(first_ms);
  c.dispatch.idle_timeout = Millis(idle_ms);
  c.dispatch.failure.fail_timeout = Millis(fail_timeout_ms);
  c.dispatch.probe_interval = Millis(probe_ms);
  c.connect_timeout = Millis(connect_ms);
  c.demo.first_token = Millis(demo_first_ms);
  for (const auto& text : backends) {
    BackendConfig b;
    if (auto err = parseBackend(text, b)) {
      std::fprintf(stderr, "sb-inference-dispatch: %s\n", err->c_str());
      return 2;
    }
    if (!b.api_key_env.empty()) {
      // A key named but missing would send every request unauthenticated: refuse to start.
      const char* key = std::getenv(b.api_key_env.c_str());
      if (!key || !*key) {
        std::fprintf(stderr, "sb-inference-dispatch: backend %s: api_key_env=%s, but $%s is %s\n",
                     b.spec.name.c_str(), b.api_key_env.c_str(), b.api_key_env.c_str(),
                     key ? "empty" : "not set");
        return 2;
      }
      b.api_key = key;
    }
    c.backends.push_back(std::move(b));
  }
  if (c.backends.empty()) {
    BackendConfig demo;
    demo.spec.name = "demo";
    demo.spec.max_conns = 64;
    c.backends.push_back(demo);
  }
  return std::nullopt;
}

int runInference(InferenceConfig& c) {
  setupLogging("infer", c.common);
  zmq::context_t context(1);
  EventLoop loop;
  http::HttpClient http(loop);
  Dispatcher dispatcher(loop, c.dispatch);
  for (const auto& b : c.backends) {
    std::unique_ptr<ChatBackend> backend;
    if (b.kind == "openai") {
      OpenAiOptions o;
      o.base_url = b.url;
      if (!b.spec.models.empty()) o.default_model = b.spec.models.front();
      o.connect_timeout = c.connect_timeout;
      o.api_key = b.api_key;
      backend = std::make_unique<OpenAiBackend>(loop, http, std::move(o));
    } else {
      backend = std::make_unique<DemoBackend>(loop, c.demo);
    }
    spdlog::info("backend {}: {}{}{}, max_conns {}{}", b.spec.name, b.kind,
                 b.url.empty() ? "" : " ", b.url, b.spec.max_conns,
                 b.spec.backup ? ", backup" : "");
    BackendSpec spec = b.spec;
    spec.provider = b.kind;
    dispatcher.addBackend(std::move(spec), std::move(backend));
  }
  dispatcher.startProbes();
  // The router learns our capacity and models from the backends; --capacity only lowers it.
  c.worker.capacity =
      c.capacity_cap ? std::min(c.capacity_cap, dispatcher.capacity()) : dispatcher.capacity();
  if (c.worker.models.empty()) c.worker.models = dispatcher.models();
  Worker worker(context, loop, c.worker);
  worker.handle("chat", [&dispatcher](const CallPtr& call) { dispatcher.chat(call); });
  worker.handle("metrics", [&dispatcher](const CallPtr& call) {
    call->reply(proto::packBody(dispatcher.metricsText()));
  });
  admin::AdminPlane admin(loop, c.common);
  admin.watchWorker(worker);
  admin.addMetrics([&dispatcher] { return dispatcher.metricsText(); });
  admin::watchBackends(admin, "sb_infer_backend_up",
                       [&dispatcher] { return dispatcher.backends(); });
  if (!admin.start()) return 1;
  return runWorker(worker, c.common.ready_fd);
}

}  // namespace sb::inference
