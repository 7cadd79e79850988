#include "health_service.h"

#include <algorithm>

#include "sb/core/json_body.h"
#include "status_page.h"

namespace sb::health {

namespace {

constexpr int64_t kRecentMs = 15000;

int64_t wallMs(EventLoop& loop) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(loop.wallNow().time_since_epoch())
      .count();
}

}  // namespace

HealthService::HealthService(zmq::context_t& context, EventLoop& loop, HealthOptions options)
    : loop_(loop),
      options_(std::move(options)),
      bus_(context, loop, options_.routers, options_.interval, options_.timeout, options_.curve),
      redis_(loop, options_.redis, options_.redis_connection),
      traffic_(options_.window_s * 1000),
      recent_(kRecentMs) {}

HealthService::~HealthService() = default;

void HealthService::start() {
  round();
  timer_ = loop_.every(options_.interval, [this] { round(); });
}

void HealthService::round() {
  bus_.probe();
  redis_.probe();
  // The expositions gathered by the previous round feed the traffic windows.
  // Parsed once for both windows; a text that does not parse is left out.
  std::vector<Traffic::Input> inputs;
  auto add = [&inputs](std::string service, const std::string& text) {
    Traffic::Input in{std::move(service), {}};
    if (!parseExposition(text, ExpositionLimits{}, in.families)) inputs.push_back(std::move(in));
  };
  for (const auto& [endpoint, text] : bus_.routerMetrics()) add("", text);
  for (const auto& [name, text] : bus_.workerMetrics()) {
    auto it = bus_.instances().find(name);
    if (it != bus_.instances().end()) add(it->second.service, text);
  }
  int64_t now = wallMs(loop_);
  traffic_.add(now, inputs);
  recent_.add(now, inputs);
  HistoryPoint p;
  p.t_ms = now;
  for (const auto& [name, svc] : bus_.services()) p.inflight += svc.inflight;
  for (const auto& name : recent_.services()) {
    ServiceTraffic t = recent_.of(name);
    if (t.request_rate) p.request_rate = p.request_rate.value_or(0) + *t.request_rate;
    if (t.error_rate) p.error_rate = p.error_rate.value_or(0) + *t.error_rate;
    // The worst service's p99: the one an operator looks for.
    if (t.latency_ms) p.latency_p99_ms = std::max(p.latency_p99_ms.value_or(0), t.latency_ms->p99);
    if (t.ttft_ms) p.ttft_p99_ms = std::max(p.ttft_p99_ms.value_or(0), t.ttft_ms->p99);
  }
  history_.push_back(p);
  int64_t keep = std::max<int64_t>(1, options_.window_s * 1000 / options_.interval.count());
  while (static_cast<int64_t>(history_.size()) > keep) history_.pop_front();
}

SuiteState HealthService::state() const {
  SuiteState s;
  s.routers = bus_.routers();
  s.services = bus_.services();
  s.instances = bus_.instances();
  s.redis = redis_.nodes();
  return s;
}

admin::Readiness::Report HealthService::verdict() const {
  return assess(state(), options_.required);
}

nlohmann::json HealthService::status() const {
  SuiteState s = state();
  StatusContext ctx;
  ctx.now_ms = wallMs(loop_);
  ctx.probe_interval_ms = options_.interval.count();
  ctx.window_s = options_.window_s;
  ctx.required = options_.required;
  return statusJson(s, assess(s, options_.required), traffic_, history_, ctx);
}

void HealthService::serve(admin::AdminPlane& admin) {
  admin.setReadiness([this] { return verdict(); });
  admin.onScrape([this](MetricsRegistry& m) { updateMetrics(m); });
  MetricsRegistry& m = admin.metrics();
  auto failures = [&m](const char* target) -> Counter& {
    return m.counter("sb_health_probe_failures_total", "Probes that failed or timed out",
                     {{"target", target}});
  };
  for (const char* target : {"router", "worker", "redis"}) failures(target).inc(0);
  auto record = [&m, failures](const char* target, double seconds, bool ok) {
    m.histogram("sb_health_probe_duration_seconds", "Round trip of sb-health's probes",
                MetricsRegistry::latencyBuckets(), {{"target", target}})
        .observe(seconds);
    if (!ok) failures(target).inc();
  };
  bus_.onProbe(record);
  redis_.onProbe([record](double seconds, bool ok) { record("redis", seconds, ok); });
  if (options_.gather_metrics) {
    admin.transformMetrics([this](const std::string& own) { return gathered(own); });
  }
  if (admin::AdminServer* server = admin.server()) {
    server->route("/", [](const http::ExchangePtr& ex) {
      ex->respond(200,
                  {{"Content-Type", "text/html; charset=utf-8"},
                   {"Cache-Control", "no-cache"},
                   {"Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    "connect-src 'self'; img-src data:"}},
                  std::string(statusPage()));
    });
    server->route("/status", [this](const http::ExchangePtr& ex) {
      ex->respond(200, {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
                  status().dump() + "\n");
    });
  }
}

void HealthService::serveBus(Worker& worker) {
  self_ = worker.name();
  worker.handleAdmin("health.status",
                     [this](const CallPtr& call) { call->reply(packJsonValue(status())); });
}

void HealthService::updateMetrics(MetricsRegistry& m) const {
  SuiteState s = state();
  admin::Readiness::Report v = assess(s, options_.required);
  m.gauge("sb_health_ready", "1 while the suite can serve (sb-health's /readyz)")
      .set(v.ready ? 1 : 0);
  for (const auto& r : s.routers) {
    m.gauge("sb_health_router_up", "1 while the router answers its status",
            {{"router", r.endpoint}})
        .set(r.up ? 1 : 0);
  }
  std::vector<std::string> required = requiredServices(s, options_.required);
  for (const auto& name : serviceNames(s, required)) {
    m.gauge("sb_health_service_live_workers", "Workers answering, ready and not draining",
            {{"service", name}})
        .set(static_cast<double>(workerCount(s, name).live));
    bool req = std::find(required.begin(), required.end(), name) != required.end();
    m.gauge("sb_health_service_required", "1 when the service must have a live worker",
            {{"service", name}})
        .set(req ? 1 : 0);
  }
  for (const auto& [address, node] : s.redis) {
    m.gauge("sb_health_redis_up", "1 while the Redis node answers PING", {{"node", address}})
        .set(node.up ? 1 : 0);
    if (node.cluster_state) {
      m.gauge("sb_health_redis_cluster_ok", "1 while CLUSTER INFO says cluster_state:ok",
              {{"node", address}})
          .set(*node.cluster_state == "ok" ? 1 : 0);
    }
  }
  std::map<std::pair<std::string, std::string>, bool> backends;
  for (const auto& [name, inst] : s.instances) {
    for (const auto& c : inst.checks) {
      std::optional<std::string> backend = backendOf(c);
      if (!backend) continue;
      bool& up = backends[{inst.service, *backend}];
      up = up || c.ok;
    }
  }
  for (const auto& [key, up] : backends) {
    m.gauge("sb_health_backend_up", "1 while at least one worker sees the backend up",
            {{"service", key.first}, {"backend", key.second}})
        .set(up ? 1 : 0);
  }
}

std::string HealthService::gathered(const std::string& own) const {
  std::vector<Source> sources;
  Source mine;
  if (parseExposition(own, ExpositionLimits{}, mine.families)) return own;
  sources.push_back(std::move(mine));
  for (const auto& [endpoint, text] : bus_.routerMetrics()) {
    Source s;
    s.extra_labels = {{"service", "router"}, {"instance", endpoint}};
    if (!parseExposition(text, ExpositionLimits{}, s.families)) sources.push_back(std::move(s));
  }
  for (const auto& [name, text] : bus_.workerMetrics()) {
    auto it = bus_.instances().find(name);
    if (it == bus_.instances().end() || name == self_) continue;
    Source s;
    s.extra_labels = {{"service", it->second.service}, {"instance", name}};
    if (!parseExposition(text, ExpositionLimits{}, s.families)) sources.push_back(std::move(s));
  }
  return renderMerged(sources);
}

}  // namespace sb::health
