#include "sb/admin/admin_server.h"

#include <spdlog/spdlog.h>

#include "sb/core/listen_address.h"

namespace sb::admin {

namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

void answer(const http::ExchangePtr& ex, int status, const std::string& type, std::string body) {
  ex->respond(status, {{"Content-Type", type}, {"Cache-Control", "no-store"}}, std::move(body));
}

}  // namespace

bool adminListenOptions(const std::string& listen, http::ServerOptions& out) {
  if (!parseListenAddress(listen, out.host, out.port)) {
    spdlog::critical("--admin-http takes IP:PORT (0.0.0.0:PORT for every interface), not '{}'",
                     listen);
    return false;
  }
  out.max_body = 4096;
  // Probes and scrapes open a connection every few seconds: a generous cap, and idle
  // connections cut early, so clients holding connections open do not lock the probes out.
  out.max_connections = 2048;
  out.header_timeout = Millis(5000);
  out.idle_timeout_s = 10;
  if (out.host != "127.0.0.1" && out.host != "::1") {
    spdlog::warn(
        "admin listener on {} is reachable from other hosts and has no authentication: "
        "keep its port off public networks",
        listen);
  }
  return true;
}

AdminAnswer readyzAnswer(const Readiness::Report& report, bool verbose) {
  return {report.ready ? 200 : 503, "application/json", reportJson(report, verbose).dump() + "\n"};
}

AdminServer::AdminServer(EventLoop& loop, http::ServerOptions options,
                         std::function<Readiness::Report()> readiness,
                         std::function<std::string()> metrics_text)
    : readiness_(std::move(readiness)),
      metrics_text_(std::move(metrics_text)),
      server_(loop, std::move(options), [this](const http::ExchangePtr& ex) { handle(ex); }) {}

void AdminServer::route(const std::string& path, http::HttpServer::Handler handler) {
  routes_[path] = std::move(handler);
}

std::optional<std::string> AdminServer::start() { return server_.start(); }

void AdminServer::handle(const http::ExchangePtr& ex) {
  if (ex->method() != "GET" && ex->method() != "HEAD") {
    ex->respond(
        405,
        {{"Allow", "GET, HEAD"}, {"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}},
        "method not allowed\n");
    return;
  }
  const std::string& path = ex->path();
  if (path == "/livez" || path == "/healthz") {
    answer(ex, 200, "text/plain", "ok\n");
  } else if (path == "/readyz") {
    auto verbose = ex->query("verbose");
    bool wanted = verbose && *verbose != "0" && *verbose != "false";
    AdminAnswer a = readyzAnswer(readiness_(), wanted);
    answer(ex, a.status, a.content_type, std::move(a.body));
  } else if (path == "/metrics") {
    answer(ex, 200, kMetricsType, metrics_text_());
  } else if (auto it = routes_.find(path); it != routes_.end()) {
    it->second(ex);
  } else {
    std::string paths = "/livez, /healthz, /readyz, /metrics";
    for (const auto& [p, h] : routes_) paths += ", " + p;
    answer(ex, 404, "text/plain", "not found: this listener serves " + paths + "\n");
  }
}

}  // namespace sb::admin
