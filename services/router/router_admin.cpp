// The router's own ops (service "router"): status, drain, metrics.
#include <spdlog/spdlog.h>

#include "router.h"
#include "sb/core/frames.h"
#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

namespace sb::router {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

namespace {

int64_t msSince(TimePoint then, TimePoint now) {
  return std::chrono::duration_cast<Millis>(now - then).count();
}

}  // namespace

void Router::handleAdmin(Frames& f, const Header& h) {
  std::string client(view(f[0]));
  std::string body;
  if (h.op == "status") {
    body = statusBody();
  } else if (h.op == "metrics") {
    body = proto::packBody(metrics_source_ ? metrics_source_() : metricsText());
  } else if (h.op == "drain") {
    msgpack::object_handle oh;
    proto::Status st = proto::decodeBody(view(f[2]), options_.limits, oh);
    const msgpack::object* name = st.ok() ? proto::findKey(oh.get(), "worker") : nullptr;
    if (!name || name->type != msgpack::type::STR) {
      replyError(client, h.id, ErrorCode::kInvalidArgument,
                 "router.drain takes {\"worker\": NAME}");
      return;
    }
    std::string worker = name->as<std::string>();
    st = drainWorker(worker);
    if (!st.ok()) {
      replyError(client, h.id, st.code, st.message);
      return;
    }
    std::map<std::string, std::string> reply{{"draining", worker}};
    body = proto::packBody(reply);
  } else {
    replyError(client, h.id, ErrorCode::kUnimplemented,
               "the router has no op '" + std::string(h.op) + "' (status, drain, metrics)");
    return;
  }
  Header rh;
  rh.kind = Kind::kReply;
  rh.id = h.id;
  header_buf_.clear();
  proto::encodeHeaderInto(rh, header_buf_);
  zmq::message_t parts[3] = {frame(client), frame(header_buf_), frame(body)};
  toClient(parts, 3);
}

proto::Status Router::drainWorker(std::string_view name) {
  RegisteredWorker* w = registry_.byName(name);
  if (!w) {
    return proto::Status::error(ErrorCode::kNotFound,
                                "no worker named '" + std::string(name) + "'");
  }
  if (!w->draining) spdlog::info("draining worker {} on request", w->name);
  setDraining(*w);
  sendControl(w->identity, Kind::kDrain);
  return {};
}

std::string Router::statusBody() {
  TimePoint now = loop_.now();
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(6);
  pk.pack("uptime_ms"), pk.pack(msSince(started_, now));
  pk.pack("draining"), pk.pack(draining_);
  pk.pack("policy"), pk.pack(options_.policy);

  pk.pack("workers");
  pk.pack_array(static_cast<uint32_t>(registry_.size()));
  for (const auto& [id, w] : registry_.all()) {
    const MemberState* st = service(w.service).balancer->find(id);
    pk.pack_map(14);
    pk.pack("name"), pk.pack(w.name);
    pk.pack("id"), pk.pack(id);
    pk.pack("service"), pk.pack(w.service);
    pk.pack("models"), pk.pack(w.spec.tags);
    pk.pack("capacity"), pk.pack(w.spec.capacity);
    pk.pack("weight"), pk.pack(w.spec.weight);
    pk.pack("backup"), pk.pack(w.spec.backup);
    pk.pack("inflight"), pk.pack(st ? st->inflight : 0);
    pk.pack("draining"), pk.pack(w.draining);
    pk.pack("cooling_down"), pk.pack(st ? service(w.service).balancer->coolingDown(*st) : false);
    pk.pack("dispatched"), pk.pack(w.dispatched);
    pk.pack("failures"), pk.pack(w.failures);
    pk.pack("last_seen_ms"), pk.pack(msSince(w.last_seen, now));
    pk.pack("joined_ms"), pk.pack(msSince(w.joined, now));
  }

  pk.pack("services");
  pk.pack_array(static_cast<uint32_t>(services_.size()));
  for (const auto& [name, s] : services_) {
    uint64_t inflight = 0;
    for (const auto& m : s->balancer->members()) inflight += m.inflight;
    pk.pack_map(5);
    pk.pack("name"), pk.pack(name);
    pk.pack("workers"), pk.pack(s->balancer->members().size());
    pk.pack("live"), pk.pack(s->live);
    pk.pack("inflight"), pk.pack(inflight);
    pk.pack("queued"), pk.pack(s->queue.size());
  }

  const RouterCounters& c = counters_;
  std::map<std::string, uint64_t> counters{
      {"requests", c.requests},
      {"replies", c.replies},
      {"errors", c.errors},
      {"chunks", c.chunks},
      {"queued", c.queued},
      {"redispatched", c.redispatched},
      {"deadline_exceeded", c.deadline_exceeded},
      {"resource_exhausted", c.resource_exhausted},
      {"unavailable", c.unavailable},
      {"cancelled", c.cancelled},
      {"malformed", c.malformed},
      {"dropped", c.dropped},
      {"client_gone", c.client_gone},
      {"refused", c.refused},
      {"sent_elsewhere", c.sent_elsewhere},
  };
  pk.pack("counters"), pk.pack(counters);
  return std::string(buf.data(), buf.size());
}

std::string Router::metricsText() {
  // Gauges and mirrored counters are refreshed at scrape time from the router's state.
  for (const auto& [name, s] : services_) {
    uint64_t inflight = 0;
    for (const auto& m : s->balancer->members()) inflight += m.inflight;
    Labels labels{{"service", name}};
    metrics_.gauge("sb_router_queue_depth", "Requests waiting for a worker", labels)
        .set(static_cast<double>(s->queue.size()));
    metrics_.gauge("sb_router_inflight", "Requests being served", labels)
        .set(static_cast<double>(inflight));
    metrics_.gauge("sb_router_workers", "Registered workers", labels)
        .set(static_cast<double>(s->balancer->members().size()));
    metrics_.gauge("sb_router_live_workers", "Registered workers not draining", labels)
        .set(static_cast<double>(s->live));
  }
  for (const auto& [id, w] : registry_.all()) {
    const MemberState* st = service(w.service).balancer->find(id);
    Labels labels{{"service", w.service}, {"worker", w.name}};
    metrics_.gauge("sb_router_worker_inflight", "Requests in flight on a worker", labels)
        .set(st ? st->inflight : 0);
    metrics_
        .gauge("sb_router_worker_dispatched", "Requests sent to a worker since it joined", labels)
        .set(static_cast<double>(w.dispatched));
    metrics_.gauge("sb_router_worker_draining", "1 while a worker drains", labels)
        .set(w.draining ? 1 : 0);
  }
  const RouterCounters& c = counters_;
  auto mirror = [&](const char* reason, uint64_t v) {
    metrics_
        .counter("sb_router_frames_rejected_total", "Frames answered with an error or dropped",
                 {{"reason", reason}})
        .mirror(static_cast<double>(v));
  };
  mirror("malformed", c.malformed);
  mirror("dropped", c.dropped);
  mirror("client_gone", c.client_gone);
  metrics_
      .counter("sb_router_workers_refused_total",
               "Worker announcements refused (bad fields, duplicate names)")
      .mirror(static_cast<double>(c.refused));
  metrics_
      .counter("sb_router_redispatched_total", "Idempotent requests re-sent after a worker died")
      .mirror(static_cast<double>(c.redispatched));
  metrics_
      .counter("sb_router_sent_elsewhere_total",
               "New requests a draining router handed back to their client for another router")
      .mirror(static_cast<double>(c.sent_elsewhere));
  metrics_.gauge("sb_router_draining", "1 while the router drains").set(draining_ ? 1 : 0);
  if (zap_) {
    const char* help = "CURVE connections the allow-list let in or refused (ZAP)";
    metrics_.counter("sb_router_curve_handshakes_total", help, {{"result", "allowed"}})
        .mirror(static_cast<double>(zap_->allowed()));
    metrics_.counter("sb_router_curve_handshakes_total", help, {{"result", "refused"}})
        .mirror(static_cast<double>(zap_->refused()));
  }
  metrics_.gauge("sb_router_clients", "Clients heartbeating this router")
      .set(static_cast<double>(clients_heard_.size()));
  return metrics_.render();
}

}  // namespace sb::router
