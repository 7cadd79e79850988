#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "sb/admin/readiness.h"
#include "sb/http/http_server.h"

namespace sb::admin {

// The admin HTTP listener every process can serve (--admin-http): /livez and /healthz
// (liveness: answered by the event loop itself, so an answer means the loop turns; no
// dependency is checked, as the Kubernetes API server does), /readyz (200 or 503 with the
// JSON report; ?verbose lists every check) and /metrics (Prometheus text 0.0.4). GET and HEAD
// only; no API key; no access log. It shares the process's loop and HTTP library with
// everything else, and each answer is built at once from state in memory: a probe never waits
// on the work the process does.
class AdminServer {
 public:
  AdminServer(EventLoop& loop, http::ServerOptions options,
              std::function<Readiness::Report()> readiness,
              std::function<std::string()> metrics_text);

  // Further GET pages (sb-health's status page and JSON), by exact path.
  void route(const std::string& path, http::HttpServer::Handler handler);
  // Binds and listens; an error message if it cannot.
  std::optional<std::string> start();
  uint16_t port() const { return server_.port(); }

 private:
  void handle(const http::ExchangePtr& ex);

  std::function<Readiness::Report()> readiness_;
  std::function<std::string()> metrics_text_;
  std::map<std::string, http::HttpServer::Handler, std::less<>> routes_;
  http::HttpServer server_;
};

// The server options of an admin listener on `listen` (IP:PORT): small limits, as probes and
// scrapes send small requests. False (logged) when `listen` is not an address.
bool adminListenOptions(const std::string& listen, http::ServerOptions& out);

// The answers, apart from the socket (tests drive them directly).
struct AdminAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
};
AdminAnswer readyzAnswer(const Readiness::Report& report, bool verbose);

}  // namespace sb::admin
