#include "sb/admin/admin_plane.h"

#include <spdlog/spdlog.h>

#include "sb/admin/process_metrics.h"
#include "sb/core/json_body.h"
#include "sb/proto/body_codec.h"

namespace sb::admin {

namespace {

void mirrorWorker(MetricsRegistry& r, const Worker& w) {
  WorkerStats s = w.stats();
  r.counter("sb_worker_requests_total", "Requests this worker ended, any way")
      .mirror(static_cast<double>(s.handled));
  r.counter("sb_worker_rejected_total", "Requests refused: over capacity, unknown op, too large")
      .mirror(static_cast<double>(s.rejected));
  r.counter("sb_worker_handler_errors_total", "Handlers that threw (their requests failed)")
      .mirror(static_cast<double>(s.failed));
  r.counter("sb_worker_cancelled_total", "Cancels received for requests still running")
      .mirror(static_cast<double>(s.cancelled));
  r.gauge("sb_worker_inflight", "Requests being served").set(s.inflight);
  r.gauge("sb_worker_capacity", "Requests this worker serves at once").set(w.capacity());
  r.gauge("sb_worker_draining", "1 while the worker drains").set(w.draining() ? 1 : 0);
  r.gauge("sb_worker_routers_registered", "Routers this worker is registered with")
      .set(static_cast<double>(w.registeredRouters()));
}

}  // namespace

AdminPlane::AdminPlane(EventLoop& loop, const CommonOptions& common)
    : loop_(loop), listen_(common.admin_http) {}

AdminPlane::~AdminPlane() = default;

void AdminPlane::addMetrics(std::function<std::string()> text) {
  sources_.push_back(std::move(text));
}

void AdminPlane::onScrape(std::function<void(MetricsRegistry&)> refresh) {
  refreshers_.push_back(std::move(refresh));
}

void AdminPlane::setReadiness(std::function<Readiness::Report()> readiness) {
  readiness_override_ = std::move(readiness);
}

void AdminPlane::transformMetrics(std::function<std::string(const std::string&)> fn) {
  transform_ = std::move(fn);
}

Readiness::Report AdminPlane::readinessReport() const {
  return readiness_override_ ? readiness_override_() : readiness_.evaluate();
}

void AdminPlane::watchWorker(Worker& worker) {
  readiness_.add("worker", [&worker] {
    if (worker.draining()) return Check{false, "draining"};
    size_t n = worker.registeredRouters(), of = worker.routers();
    std::string seen =
        "registered with " + std::to_string(n) + " of " + std::to_string(of) + " router(s)";
    return Check{n > 0, n > 0 ? seen : "not registered with any router (" + seen + ")"};
  });
  worker_ = &worker;
  worker.handleAdmin("worker.metrics",
                     [this](const CallPtr& call) { call->reply(proto::packBody(metricsText())); });
  worker.handleAdmin("worker.ready", [this](const CallPtr& call) {
    call->reply(packJsonValue(reportJson(readiness_.evaluate(), true)));
  });
}

std::string AdminPlane::metricsText() {
  std::string out;
  for (const auto& source : sources_) out += source();
  updateProcessMetrics(registry_);
  if (worker_) mirrorWorker(registry_, *worker_);
  for (const auto& refresh : refreshers_) refresh(registry_);
  registry_.gauge("sb_ready", "1 while this process is ready for traffic (its /readyz)")
      .set(readinessReport().ready ? 1 : 0);
  registry_
      .counter("sb_event_loop_callback_errors_total",
               "Exceptions caught at the event loop's boundary (each ended one callback)")
      .mirror(static_cast<double>(loop_.callbackErrors()));
  return out + registry_.render();
}

bool AdminPlane::start() {
  if (listen_.empty()) return true;
  http::ServerOptions o;
  if (!adminListenOptions(listen_, o)) return false;
  server_ = std::make_unique<AdminServer>(
      loop_, o, [this] { return readinessReport(); },
      [this] { return transform_ ? transform_(metricsText()) : metricsText(); });
  if (auto err = server_->start()) {
    spdlog::critical("admin listener on {}: {}", listen_, *err);
    return false;
  }
  spdlog::info("admin listener on http://{}:{} (/livez /readyz /metrics)", o.host, server_->port());
  return true;
}

}  // namespace sb::admin
