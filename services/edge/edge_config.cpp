#include "edge_config.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "edge_service.h"
#include "sb/admin/admin_plane.h"
#include "sb/admin/redis_check.h"
#include "sb/core/config.h"
#include "sb/core/listen_address.h"
#include "sb/core/signals.h"
#include "sb/redis/redis_flags.h"

namespace sb::edge {

std::optional<int> parseEdgeConfig(int argc, char** argv, EdgeConfig& c) {
  CLI::App app{"Switchboard HTTP edge: the OpenAI-compatible API in front of the bus", "sb-edge"};
  std::string listen = "127.0.0.1:8080";
  app.add_option("--listen", listen, "Address and port to serve HTTP on (0.0.0.0:8080 for all)")
      ->capture_default_str();
  app.add_option("--router", c.edge.routers,
                 "Router client endpoint (tcp://HOST:PORT or ipc://PATH); repeat (or "
                 "comma-separate) for several: each request goes to a live one")
      ->delimiter(',')
      ->check(
          [](const std::string& ep) -> std::string {
            bool tcp = ep.rfind("tcp://", 0) == 0 && ep.find(':', 6) != std::string::npos;
            bool ipc = ep.rfind("ipc://", 0) == 0 && ep.size() > 6;
            return tcp || ipc ? "" : "must be tcp://HOST:PORT or ipc://PATH, not '" + ep + "'";
          },
          "ENDPOINT")
      ->capture_default_str();
  int64_t request_ms = c.edge.request_timeout.count(), keepalive_ms = c.edge.keepalive.count(),
          header_ms = c.http.header_timeout.count(), models_ms = c.edge.models_refresh.count(),
          retry_ms = c.edge.retry_after.count(), drain_ms = c.edge.drain_timeout.count();
  app.add_option("--request-timeout-ms", request_ms, "Longest a chat request may take")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--keepalive-ms", keepalive_ms,
                 "SSE comment (': keep-alive') interval while a stream waits for its first token")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--header-timeout-ms", header_ms,
                 "Longest wait for a request's headers (slow clients are cut)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--idle-timeout-s", c.http.idle_timeout_s,
                 "A connection with no traffic is closed")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-body", c.http.max_body, "Largest request body (bytes): 413 beyond")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-header-bytes", c.http.max_header,
                 "Memory for a request's line and headers (bytes, at least 4096): 431 beyond")
      ->check(CLI::Range(size_t{4096}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--max-connections", c.http.max_connections, "Open connections at once")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-pending-output", c.http.max_pending_output,
                 "Bytes a stream may hold for a client that does not read (then it is cut)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--history", c.edge.history, "Stored messages sent as context in a session turn")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  int64_t embeddings_ms = c.edge.embeddings_timeout.count();
  app.add_option("--embeddings-timeout-ms", embeddings_ms,
                 "Deadline of an embeddings request on the bus")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--models-refresh-ms", models_ms, "How often the model list is re-read")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--retry-after-ms", retry_ms, "Suggested wait sent with 429 and 503 answers")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--drain-timeout-ms", drain_ms,
                 "On SIGTERM, longest wait for requests in flight (streams) before stopping")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--cors-origin", c.edge.cors_origins,
                 "A browser origin allowed to call the API (repeat or comma-separate; '*' for "
                 "any). None: no CORS")
      ->delimiter(',');
  bool no_access_log = false;
  app.add_flag("--no-access-log", no_access_log, "No access-log line per request");
  app.add_option("--api-keys", c.api_keys,
                 "API key file (sbctl key create); reloaded on SIGHUP. None: the API is open to "
                 "anyone who reaches it");
  http::TlsOptions tls;
  app.add_option("--tls-cert", tls.cert_file,
                 "PEM certificate (then any intermediates): serve HTTPS instead of HTTP; "
                 "reloaded with --tls-key on SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls.key_file, "PEM private key of --tls-cert (unencrypted)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-priorities", tls.priorities,
                 "GnuTLS priority string: the TLS versions and ciphers offered")
      ->capture_default_str();
  CurveFlags curve;
  addCurveClientOptions(app, curve);
  redis::RedisFlags rf;
  redis::SlotClientOptions ro;
  redis::addRedisOptions(app, rf, ro);
  std::string on_error = "allow";
  int64_t limit_timeout_ms = c.limits.timeout.count();
  app.add_option("--rate-limit-on-error", on_error,
                 "When Redis cannot be asked about a key's limits: allow the request or refuse "
                 "it (503)")
      ->check(CLI::IsMember({"allow", "refuse"}))
      ->capture_default_str();
  app.add_option("--rate-limit-timeout-ms", limit_timeout_ms,
                 "Longest wait for Redis on a request's limits")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--rate-limit-prefix", c.limits.prefix, "Prefix of the rate limiter's Redis keys")
      ->capture_default_str();
  addCommonOptions(app, c.common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  if (!parseListenAddress(listen, c.http.host, c.http.port)) {
    std::fprintf(stderr,
                 "sb-edge: --listen takes IP:PORT (0.0.0.0:PORT for every interface), not '%s'\n",
                 listen.c_str());
    return 2;
  }
  c.edge.request_timeout = Millis(request_ms);
  c.edge.keepalive = Millis(keepalive_ms);
  c.http.header_timeout = Millis(header_ms);
  c.edge.models_refresh = Millis(models_ms);
  c.edge.embeddings_timeout = Millis(embeddings_ms);
  c.edge.retry_after = Millis(retry_ms);
  c.edge.drain_timeout = Millis(drain_ms);
  c.edge.access_log = !no_access_log;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    std::fprintf(stderr, "sb-edge: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (!tls.cert_file.empty()) c.http.tls = tls;
  if (auto err = loadCurveClient(curve, c.curve)) {
    std::fprintf(stderr, "sb-edge: %s\n", err->c_str());
    return 2;
  }
  c.limits.fail_open = on_error == "allow";
  c.limits.timeout = Millis(limit_timeout_ms);
  if (!rf.single.empty() || !rf.shards.empty() || !rf.cluster.empty()) {
    if (auto err = redis::applyRedisOptions(rf, ro)) {
      std::fprintf(stderr, "sb-edge: %s\n", err->c_str());
      return 2;
    }
    c.redis = ro;
  }
  return std::nullopt;
}

namespace {

// The key file as a ring; an error when it cannot be read, or when a key has limits and there
// is no Redis to keep them in.
std::optional<std::string> loadKeys(const EdgeConfig& c,
                                    std::shared_ptr<const auth::KeyRing>& out) {
  auth::KeyFile file;
  if (auto err = auth::readKeyFile(c.api_keys, file)) return err;
  auto ring = std::make_shared<const auth::KeyRing>(file);
  if (ring->anyLimited() && !c.redis) {
    return c.api_keys + ": keys with limits need a Redis to share them (--redis URL)";
  }
  out = std::move(ring);
  return std::nullopt;
}

void reloadKeys(const EdgeConfig& c, EdgeService& service) {
  std::shared_ptr<const auth::KeyRing> fresh;
  if (auto err = loadKeys(c, fresh)) {
    spdlog::error("API keys not reloaded, the previous ones stay: {}", *err);
    service.keysReloaded(false);
    return;
  }
  spdlog::info("API keys reloaded: {} from {}", fresh->size(), c.api_keys);
  service.setKeys(std::move(fresh));
  service.keysReloaded(true);
}

void logCertificate(const char* what, const std::string& file, int64_t not_after) {
  int64_t left = not_after - static_cast<int64_t>(std::time(nullptr));
  if (left <= 0) {
    spdlog::warn("{} {} has expired: clients will refuse it", what, file);
  } else {
    spdlog::info("{} {}: expires in {} days", what, file, left / 86400);
  }
}

void reloadTls(const EdgeConfig& c, http::HttpServer& server, EdgeService& service) {
  if (auto err = server.reloadTls()) {
    spdlog::error("TLS certificate not reloaded, the previous one stays: {}", *err);
    service.tlsReloaded(false);
    return;
  }
  int64_t expiry = server.tlsNotAfter().value_or(0);
  logCertificate("TLS certificate reloaded:", c.http.tls->cert_file, expiry);
  service.tlsCertificate(expiry);
  service.tlsReloaded(true);
}

}  // namespace

int runEdge(EdgeConfig& c) {
  setupLogging("edge", c.common);
  zmq::context_t context(1);
  EventLoop loop;
  AsyncClientOptions bus_options;
  bus_options.curve = c.curve;
  AsyncClient bus(context, loop, c.edge.routers, bus_options);
  std::optional<redis::SlotClient> redis;
  std::optional<RateLimiter> limiter;
  if (c.redis) {
    redis.emplace(loop, *c.redis);
    limiter.emplace(loop, *redis, c.limits);
  }
  EdgeService service(loop, bus, c.edge, limiter ? &*limiter : nullptr);
  if (!c.api_keys.empty()) {
    std::shared_ptr<const auth::KeyRing> keys;
    if (auto err = loadKeys(c, keys)) {
      spdlog::error("{}", *err);
      return 1;
    }
    spdlog::info("API keys: {} from {}", keys->size(), c.api_keys);
    service.setKeys(std::move(keys));
  }
  http::HttpServer server(loop, c.http,
                          [&service](const http::ExchangePtr& ex) { service.handle(ex); });
  if (auto err = server.start()) {
    spdlog::error("{}", *err);
    return 1;
  }
  if (c.api_keys.empty()) {
    spdlog::warn("no --api-keys: the API is open to anyone who can reach {}:{}", c.http.host,
                 server.port());
  }
  if (auto expiry = server.tlsNotAfter()) {
    logCertificate("TLS certificate", c.http.tls->cert_file, *expiry);
    service.tlsCertificate(*expiry);
  }
  // SIGHUP: the key file and the TLS files again; what fails to load leaves what is in force.
  LoopHandle reload = onReloadSignal(loop, [&] {
    if (c.api_keys.empty() && !server.tls()) spdlog::info("SIGHUP: no key or TLS files to reload");
    if (!c.api_keys.empty()) reloadKeys(c, service);
    if (server.tls()) reloadTls(c, server, service);
  });
  service.start();
  admin::AdminPlane admin(loop, c.common);
  admin.addMetrics([&service] { return service.metricsText(); });
  if (redis) {
    admin::watchRedis(admin, *redis, !c.limits.fail_open);
    redis->start();
  }
  std::string routers;
  for (const auto& r : c.edge.routers) {
    if (!routers.empty()) routers += ',';
    routers += r;
  }
  admin.readiness().add("router", [&service, routers] {
    bool ok = service.routerAnswered();
    return admin::Check{ok, (ok ? "answers at " : "does not answer at ") + routers};
  });
  if (!admin.start()) return 1;
  const char* scheme = server.tls() ? "https" : "http";
  spdlog::info("edge listening on {}://{}:{} (OpenAI base URL {}://{}:{}/v1), router {}", scheme,
               c.http.host, server.port(), scheme, c.http.host, server.port(), routers);
  // SIGTERM: stop listening, let requests in flight finish (up to --drain-timeout-ms), then
  // exit; a second signal stops at once.
  LoopHandle drain_deadline;
  bool cut = false;  // the stop cut requests in flight: exit 1
  auto signals = onTerminationSignal(loop, [&](int signo) {
    if (server.draining()) {
      spdlog::warn("edge stopping at once (signal {}): requests cut: {}", signo, server.requests());
      cut = server.requests() > 0;
      loop.stop();
      return;
    }
    admin.readiness().stopping("draining");
    spdlog::info("edge draining: no new connections; requests in flight: {} (up to {} ms)",
                 server.requests(), c.edge.drain_timeout.count());
    drain_deadline = loop.after(c.edge.drain_timeout, [&] {
      spdlog::warn("edge drain timed out: requests cut: {}", server.requests());
      cut = true;
      loop.stop();
    });
    server.drain([&] {
      spdlog::info("edge drained: every request answered, stopping");
      loop.stop();
    });
  });
  notifyReady(c.common.ready_fd, std::to_string(server.port()));
  loop.run();
  return cut ? 1 : 0;
}

}  // namespace sb::edge
