#include "bus_prober.h"

#include "sb/core/json_body.h"

namespace sb::health {

using json = nlohmann::json;

namespace {

double msBetween(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string failure(const Incoming& in) {
  return std::string(proto::errorCodeName(in.code)) + (in.message.empty() ? "" : ": " + in.message);
}

}  // namespace

BusProber::BusProber(zmq::context_t& context, EventLoop& loop,
                     const std::vector<std::string>& routers, Millis interval, Millis timeout,
                     const CurveClientKeys& curve)
    : loop_(loop), interval_(interval), timeout_(timeout) {
  for (const auto& endpoint : routers) {
    Router r;
    r.endpoint = endpoint;
    AsyncClientOptions co;
    co.grace = timeout;
    co.curve = curve;
    r.client = std::make_unique<AsyncClient>(context, loop, std::vector<std::string>{endpoint}, co);
    r.state.endpoint = endpoint;
    r.state.error = "not probed yet";
    routers_.push_back(std::move(r));
  }
}

BusProber::~BusProber() = default;

void BusProber::probed(const char* target, TimePoint sent, bool ok) {
  if (on_probe_) on_probe_(target, std::chrono::duration<double>(loop_.now() - sent).count(), ok);
}

void BusProber::probe() {
  forgetStale();
  CallOptions o;
  o.deadline = timeout_;
  for (size_t i = 0; i < routers_.size(); ++i) {
    Router& r = routers_[i];
    if (!r.status_out) {
      r.status_out = true;
      TimePoint sent = loop_.now();
      r.client->send("router", "status", {}, o, [this, i, sent](const Incoming& in) {
        if (in.kind == proto::Kind::kChunk) return;
        Router& r = routers_[i];
        r.status_out = false;
        bool ok = in.kind == proto::Kind::kReply;
        probed("router", sent, ok);
        if (!ok) {
          r.state.up = false;
          r.state.rtt_ms.reset();
          r.state.uptime_ms = 0;
          r.state.error = failure(in);
          r.services.clear();
          return;
        }
        r.state.up = true;
        r.state.error.clear();
        r.state.rtt_ms = msBetween(sent, loop_.now());
        onStatus(i, unpackJsonValue(in.body));
      });
    }
    if (!r.metrics_out) {
      r.metrics_out = true;
      r.client->send("router", "metrics", {}, o, [this, i](const Incoming& in) {
        if (in.kind == proto::Kind::kChunk) return;
        Router& r = routers_[i];
        r.metrics_out = false;
        if (in.kind != proto::Kind::kReply) return;
        json text = unpackJsonValue(in.body);
        if (text.is_string()) router_metrics_[r.endpoint] = text.get<std::string>();
      });
    }
  }
  for (const auto& [name, inst] : instances_) probeWorker(name);
}

void BusProber::onStatus(size_t r, const json& status) {
  Router& router = routers_[r];
  router.state.uptime_ms = status.value("uptime_ms", int64_t{0});
  router.services.clear();
  if (auto it = status.find("services"); it != status.end() && it->is_array()) {
    for (const json& s : *it) {
      if (!s.is_object()) continue;
      ServiceState st;
      st.name = s.value("name", "");
      st.workers = s.value("workers", 0U);
      st.inflight = s.value("inflight", 0U);
      st.queued = s.value("queued", 0U);
      if (!st.name.empty()) router.services.push_back(std::move(st));
    }
  }
  auto workers = status.find("workers");
  if (workers == status.end() || !workers->is_array()) return;
  for (const json& w : *workers) {
    if (!w.is_object()) continue;
    std::string name = w.value("name", "");
    if (name.empty()) continue;
    auto [it, fresh] = instances_.try_emplace(name);
    InstanceState& inst = it->second;
    if (fresh || via_[name] == r || !routers_[via_[name]].state.up) {
      via_[name] = r;
      inst.name = name;
      inst.service = w.value("service", "");
      inst.router = router.endpoint;
      inst.draining = w.value("draining", false);
      inst.cooling_down = w.value("cooling_down", false);
      inst.uptime_ms = w.value("joined_ms", int64_t{0});
      if (fresh) inst.error = "not probed yet";
    }
    last_listed_[name] = loop_.now();
    if (fresh) probeWorker(name);
  }
}

void BusProber::ask(const std::string& name, const char* op, bool Out::*flag,
                    std::function<void(const Incoming&)> done) {
  Out& out = out_[name];
  if (out.*flag) return;
  auto inst = instances_.find(name);
  if (inst == instances_.end()) return;
  out.*flag = true;
  CallOptions o;
  o.deadline = timeout_;
  o.target = name;
  routers_[via_[name]].client->send(inst->second.service, op, {}, o,
                                    [this, name, flag, done = std::move(done)](const Incoming& in) {
                                      if (in.kind == proto::Kind::kChunk) return;
                                      out_[name].*flag = false;
                                      if (instances_.count(name)) done(in);
                                    });
}

void BusProber::probeWorker(const std::string& name) {
  TimePoint sent = loop_.now();
  ask(name, "worker.stats", &Out::stats, [this, name, sent](const Incoming& in) {
    InstanceState& inst = instances_[name];
    bool ok = in.kind == proto::Kind::kReply;
    probed("worker", sent, ok);
    inst.answered = ok;
    if (!ok) {
      inst.rtt_ms.reset();
      inst.error = failure(in);
      return;
    }
    json s = unpackJsonValue(in.body);
    if (!s.is_object()) s = json::object();
    inst.error.clear();
    inst.rtt_ms = msBetween(sent, loop_.now());
    inst.inflight = s.value("inflight", 0U);
    inst.capacity = s.value("capacity", 0U);
    inst.handled = s.value("handled", uint64_t{0});
    inst.failed = s.value("failed", uint64_t{0});
    inst.rejected = s.value("rejected", uint64_t{0});
    inst.draining = inst.draining || s.value("draining", false);
  });
  ask(name, "worker.ready", &Out::ready, [this, name](const Incoming& in) {
    InstanceState& inst = instances_[name];
    if (in.kind != proto::Kind::kReply) {
      // A worker from before worker.ready (UNIMPLEMENTED) is taken as ready.
      inst.ready = in.code == proto::ErrorCode::kUnimplemented && inst.answered;
      if (in.code == proto::ErrorCode::kUnimplemented) inst.checks.clear();
      return;
    }
    json r = unpackJsonValue(in.body);
    inst.ready = r.is_object() && r.value("status", "") == "ready";
    inst.checks.clear();
    if (auto it = r.find("checks"); r.is_object() && it != r.end() && it->is_array()) {
      for (const json& c : *it) {
        if (!c.is_object()) continue;
        inst.checks.push_back({c.value("name", ""), c.value("ok", false), c.value("required", true),
                               c.value("detail", "")});
      }
    }
  });
  ask(name, "worker.metrics", &Out::metrics, [this, name](const Incoming& in) {
    if (in.kind != proto::Kind::kReply) return;
    json text = unpackJsonValue(in.body);
    if (text.is_string()) worker_metrics_[name] = text.get<std::string>();
  });
}

std::vector<RouterState> BusProber::routers() const {
  std::vector<RouterState> out;
  for (const auto& r : routers_) out.push_back(r.state);
  return out;
}

std::map<std::string, ServiceState> BusProber::services() const {
  std::map<std::string, ServiceState> out;
  for (const auto& r : routers_) {
    for (const auto& s : r.services) {
      ServiceState& sum = out[s.name];
      sum.name = s.name;
      sum.workers += s.workers;
      sum.inflight += s.inflight;
      sum.queued += s.queued;
    }
  }
  // A worker registered with several routers counts once.
  for (auto& [name, s] : out) s.workers = 0;
  for (const auto& [name, inst] : instances_) {
    if (auto it = out.find(inst.service); it != out.end()) ++it->second.workers;
  }
  return out;
}

void BusProber::forgetStale() {
  TimePoint now = loop_.now();
  for (auto it = instances_.begin(); it != instances_.end();) {
    auto seen = last_listed_.find(it->first);
    if (seen == last_listed_.end() || now - seen->second > 3 * interval_) {
      worker_metrics_.erase(it->first);
      last_listed_.erase(it->first);
      via_.erase(it->first);
      out_.erase(it->first);
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sb::health
