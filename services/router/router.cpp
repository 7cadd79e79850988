#include "router.h"

#include <spdlog/spdlog.h>

#include "sb/proto/announcement.h"
#include "sb/proto/header_codec.h"

namespace sb::router {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

namespace {

constexpr int kBatch = 512;  // messages handled per socket wake-up before polling again

int64_t ms(SteadyClock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

// Reachable only from this machine: ipc, inproc, or TCP on a loopback address.
bool loopbackEndpoint(const std::string& ep) {
  if (ep.rfind("tcp://", 0) != 0) return true;
  std::string host = ep.substr(6, ep.rfind(':') - 6);
  return host.rfind("127.", 0) == 0 || host == "[::1]" || host == "localhost";
}

}  // namespace

Router::Router(zmq::context_t& context, EventLoop& loop, RouterOptions options)
    : context_(context),
      loop_(loop),
      options_(std::move(options)),
      clients_(context, zmq::socket_type::router),
      workers_(context, zmq::socket_type::router),
      started_(loop.now()),
      registry_(options_.heartbeat) {
  for (zmq::socket_t* s : {&clients_, &workers_}) {
    // Mandatory routing turns "peer gone" into an error we act on (cancel its work) instead
    // of a silent drop.
    s->set(zmq::sockopt::router_mandatory, 1);
    s->set(zmq::sockopt::sndhwm, 1000000);
    s->set(zmq::sockopt::rcvhwm, 1000000);
    s->set(zmq::sockopt::linger, 0);
    // A hard cap far above the body limit: frames between the two get an INVALID_ARGUMENT
    // reply; only absurd ones make libzmq drop the connection.
    s->set(zmq::sockopt::maxmsgsize,
           static_cast<int64_t>(std::max<size_t>(64u << 20, 4 * options_.limits.max_body_bytes)));
  }
  if (options_.curve) {
    if (!options_.peers) options_.peers = std::make_shared<auth::CurvePeers>();
    zap_ = std::make_unique<ZapHandler>(context, loop_, options_.peers);
    for (zmq::socket_t* s : {&clients_, &workers_}) {
      s->set(zmq::sockopt::curve_server, 1);
      s->set(zmq::sockopt::curve_secretkey, options_.curve->secret_key);
      s->set(zmq::sockopt::zap_domain,
             s == &clients_ ? ZapHandler::kClients : ZapHandler::kWorkers);
    }
  }
  clients_.bind(options_.clients);
  workers_.bind(options_.workers);
  // `this` is safe in loop callbacks: the handles are ours.
  clients_watch_ = loop_.addSocket(clients_, [this] { onClients(); });
  workers_watch_ = loop_.addSocket(workers_, [this] { onWorkers(); });
  housekeeping_timer_ = loop_.every(options_.heartbeat.tick, [this] { housekeeping(); });
  spdlog::info("clients on {}, workers on {}, policy {}{}", clientEndpoint(), workerEndpoint(),
               options_.policy,
               zap_ ? fmt::format(", CURVE (key {}; {} client and {} worker keys allowed)",
                                  auth::curveFingerprint(options_.curve->public_key),
                                  options_.peers->size(auth::PeerRole::kClient),
                                  options_.peers->size(auth::PeerRole::kWorker))
                    : "");
  if (!zap_) {
    for (const std::string& ep : {clientEndpoint(), workerEndpoint()}) {
      if (!loopbackEndpoint(ep)) {
        spdlog::warn(
            "PLAIN TCP ON {}: not loopback and no CURVE, so anyone who reaches it can register "
            "as a worker and read requests, or call any service. Use --curve-secret and "
            "--curve-peers (docs/SECURITY.md, PROTOCOL.md 1.1)",
            ep);
      }
    }
  }
}

void Router::setPeers(std::shared_ptr<const auth::CurvePeers> peers) {
  if (!zap_) return;
  zap_->setPeers(std::move(peers));  // (the list in force is the ZAP handler's)
  std::vector<MemberId> gone;
  for (const auto& [id, w] : registry_.all()) {
    const auth::CurvePeer* p = zap_->peers().find(auth::PeerRole::kWorker, w.curve_key);
    if (!p || !p->mayServe(w.service)) gone.push_back(id);
  }
  for (MemberId id : gone) {
    RegisteredWorker* w = registry_.byId(id);
    if (!w) continue;
    std::string identity = w->identity;
    removeWorker(id, "its key is no longer allowed");
    sendControl(identity, Kind::kBye);  // it announces again, and is refused
  }
}

Router::~Router() = default;  // the loop registrations are handles: they go with us

std::string Router::clientEndpoint() const { return clients_.get(zmq::sockopt::last_endpoint); }
std::string Router::workerEndpoint() const { return workers_.get(zmq::sockopt::last_endpoint); }

Service* Router::findService(std::string_view name) {
  auto it = services_.find(std::string(name));
  return it == services_.end() ? nullptr : it->second.get();
}

Service& Router::service(std::string_view name) {
  if (Service* s = findService(name)) return *s;
  auto s = std::make_unique<Service>();
  s->name = std::string(name);
  s->balancer = makeBalancer(options_.policy, loop_.clock(), loop_.random(), options_.failure);
  s->none_live_since = loop_.now();
  Labels labels{{"service", s->name}};
  s->requests = &metrics_.counter("sb_router_requests_total", "Requests received", labels);
  s->ok = &metrics_.counter("sb_router_responses_total", "Requests ended, by code",
                            {{"service", s->name}, {"code", "OK"}});
  s->latency =
      &metrics_.histogram("sb_router_request_duration_seconds", "Time from request to final frame",
                          MetricsRegistry::latencyBuckets(), labels);
  return *services_.emplace(s->name, std::move(s)).first->second;
}

// ---- client side ----

void Router::onClients() {
  for (int i = 0; i < kBatch; ++i) {
    bool too_many = false;
    size_t n = recvMessage(clients_, frames_, 4, too_many);
    if (n == 0) return;
    handleClientMessage(frames_, n, too_many);
    reapLostWorkers();
  }
}

void Router::handleClientMessage(Frames& f, size_t n, bool too_many) {
  std::string_view client = view(f[0]);
  if (n != 3 || too_many) {
    ++counters_.malformed;
    // Whatever the frame count, the first frame is meant to be the header: name the request
    // if it can be read.
    uint64_t id = n >= 2 ? proto::peekRequestId(view(f[1]), options_.limits).value_or(0) : 0;
    replyError(client, id, ErrorCode::kInvalidArgument,
               "a client message is exactly two frames: header, body");
    return;
  }
  Header h;
  proto::Status st = proto::decodeHeader(view(f[1]), options_.limits, h);
  if (!st.ok()) {
    ++counters_.malformed;
    spdlog::debug("bad header from a client: {}", st.message);
    replyError(client, proto::peekRequestId(view(f[1]), options_.limits).value_or(0), st.code,
               st.message);
    return;
  }
  if (f[2].size() > options_.limits.max_body_bytes) {
    ++counters_.malformed;
    replyError(client, h.id, ErrorCode::kInvalidArgument,
               "body of " + std::to_string(f[2].size()) + " bytes exceeds the limit of " +
                   std::to_string(options_.limits.max_body_bytes));
    return;
  }
  switch (h.kind) {
    case Kind::kRequest:
      // (a key dropped from the allow-list by a reload: its connection is older than that)
      if (zap_ && !zap_->peers().find(auth::PeerRole::kClient, peerKey(f[1]))) {
        replyError(client, h.id, ErrorCode::kPermissionDenied,
                   "this client's CURVE key is no longer allowed");
        break;
      }
      handleRequest(f, h);
      break;
    case Kind::kCancel:
      handleCancel(client, h);
      break;
    case Kind::kHeartbeat:
      handleClientHeartbeat(client);
      break;
    case Kind::kDrain:
      handleClientDrainAck(client);
      break;
    default:
      ++counters_.malformed;
      replyError(client, h.id, ErrorCode::kInvalidArgument,
                 std::string("clients send request, cancel, heartbeat or drain, not ") +
                     std::string(proto::kindName(h.kind)));
  }
}

void Router::handleRequest(Frames& f, const Header& h) {
  ++counters_.requests;
  std::string_view client = view(f[0]);
  if (h.id == 0) {
    ++counters_.malformed;
    replyError(client, 0, ErrorCode::kInvalidArgument,
               "request id 0 is reserved (errors about unreadable frames carry it)");
    return;
  }
  if (h.service == "router") {
    handleAdmin(f, h);
    return;
  }
  if (draining_ && sendElsewhere(client, h.id)) return;
  std::string key = RequestTable::key(client, h.id);
  if (requests_.find(key)) {
    replyError(client, h.id, ErrorCode::kInvalidArgument,
               "request id " + std::to_string(h.id) + " is already in flight");
    return;
  }
  // Unknown services get no state: a client must not be able to grow the router's memory by
  // naming services that do not exist.
  Service* sp = findService(h.service);
  if (!sp && loop_.now() - started_ < options_.no_worker_grace && services_.size() < 256) {
    // A router that just started (a restart) does not know its workers yet: they announce
    // within a heartbeat. Its first requests wait for them as for a restarting worker.
    sp = &service(h.service);
    sp->none_live_since = started_;
  }
  if (!sp) {
    ++counters_.unavailable;
    replyError(client, h.id, ErrorCode::kUnavailable,
               "no worker has registered for service '" + std::string(h.service) + "'");
    return;
  }
  Service& s = *sp;
  TimePoint now = loop_.now();
  MemberId wid = 0;
  bool admin = false;
  if (!h.target.empty()) {
    RegisteredWorker* w = registry_.byName(h.target, h.service);
    if (!w) {
      replyError(client, h.id, ErrorCode::kNotFound,
                 "no worker named '" + std::string(h.target) + "' in service '" +
                     std::string(h.service) + "'");
      return;
    }
    wid = w->id;
    admin = true;
  } else {
    // Requests addressed to one worker (probes, stats, metrics) stay out of the service's
    // request, response and latency series: a prober must not look like traffic.
    s.requests->inc();
    if (s.live == 0 && now - s.none_live_since >= options_.no_worker_grace) {
      ++counters_.unavailable;
      countResponse(s, ErrorCode::kUnavailable, 0);
      replyError(client, h.id, ErrorCode::kUnavailable,
                 "no live worker of '" + s.name + "' for " +
                     std::to_string(ms(now - s.none_live_since)) +
                     " ms (none registered, or all draining)");
      return;
    }
    wid = s.balancer->select(h.model).value_or(0);
  }

  Request& r = requests_.insert(key);
  r.service = &s;
  r.admin = admin;
  r.client = std::string(client);
  r.id = h.id;
  r.model = std::string(h.model);
  r.started = now;
  r.deadline = now + (h.deadline_ms ? Millis(h.deadline_ms) : options_.default_deadline);
  r.idempotent = h.idempotent;
  if (h.deadline_at && h.deadline_ms == 0) {
    // "dl": 0 means the router's default, whose time left does not fit the one byte of 0.
    r.deadline_at = h.deadline_at;
    r.header = frame(proto::widenDeadline(view(f[1]), h.deadline_at));
  } else if (h.deadline_at) {
    r.header = std::move(f[1]);
    r.deadline_at = h.deadline_at;
  } else {
    // No "dl": the worker still gets the time left (of the router's default), so add one.
    std::string with = proto::withDeadline(view(f[1]), 0);
    r.deadline_at = static_cast<uint32_t>(with.size() - 9);  // the uint64 value it ends with
    r.header = frame(with);
  }
  r.body = std::move(f[2]);
  armDeadline(r.deadline);

  if (wid) {
    if (!dispatch(r, wid)) {
      if (admin) {
        // Addressed to that worker alone, which is gone.
        ++counters_.unavailable;
        replyError(client, h.id, ErrorCode::kUnavailable,
                   "worker " + std::string(h.target) + " is gone");
        requests_.erase(key);
      } else {
        s.queue.pushFront(key, r.seq);  // onClients reaps the lost worker next
      }
    }
    return;
  }
  if (s.queue.size() >= options_.queue_size) {
    ++counters_.resource_exhausted;
    countResponse(s, ErrorCode::kResourceExhausted, 0);
    replyError(client, h.id, ErrorCode::kResourceExhausted,
               "queue for service '" + s.name + "' is full (" +
                   std::to_string(options_.queue_size) + " waiting)");
    requests_.erase(key);
    return;
  }
  s.queue.push(key, r.seq);
  ++counters_.queued;
}

void Router::handleCancel(std::string_view client, const Header& h) {
  std::string key = RequestTable::key(client, h.id);
  Request* r = requests_.find(key);
  if (!r || r->client_done) return;  // already ended
  ++counters_.cancelled;
  replyError(client, h.id, ErrorCode::kCancelled, "cancelled by the client");
  if (r->worker == 0) {
    r->service->queue.forget();
    requests_.erase(key);
    return;
  }
  r->client_done = true;
  if (RegisteredWorker* w = registry_.byId(r->worker)) sendCancel(*w, *r);
}

bool Router::dispatch(Request& r, MemberId wid) {
  RegisteredWorker& w = *registry_.byId(wid);
  // The worker gets the time left, not the client's original deadline (PROTOCOL.md 4.2).
  int64_t left = std::max<int64_t>(1, ms(r.deadline - loop_.now()));
  proto::patchDeadline(static_cast<char*>(r.header.data()), r.header.size(), r.deadline_at,
                       static_cast<uint64_t>(left));
  zmq::message_t header;
  zmq::message_t body;
  if (r.idempotent) {
    // zmq_msg_copy shares the buffer (reference counted) for all but tiny frames.
    header.copy(r.header);
    body.copy(r.body);
  } else {
    header = std::move(r.header);
    body = std::move(r.body);
  }
  zmq::message_t parts[4] = {frame(w.identity), frame(r.client), std::move(header),
                             std::move(body)};
  if (sendMessage(workers_, parts) != SendResult::kOk) {
    // libzmq forgets a peer as soon as its connection closes, so an unroutable worker is gone
    // (killed, crashed) even if its heartbeats have not timed out yet; one a million messages
    // behind (full pipe) is as good as gone. Nothing was sent, so the request is safe to
    // dispatch elsewhere whatever its idempotency: take its frames back and let the caller
    // queue it; the worker leaves rotation now.
    if (!r.idempotent) {
      r.header = std::move(parts[2]);
      r.body = std::move(parts[3]);
    }
    r.service->balancer->setDraining(wid, true);
    lost_workers_.push_back(wid);
    return false;
  }
  r.worker = wid;
  ++w.dispatched;
  if (!r.admin) r.service->balancer->onStart(wid);
  return true;
}

void Router::pumpQueue(Service& s) {
  auto live = [this](const std::string& key, uint64_t seq) {
    Request* r = requests_.find(key);
    return r && r->seq == seq && r->worker == 0;
  };
  s.queue.pump(live, [&](const std::string& key) {
    Request& r = *requests_.find(key);
    auto wid = s.balancer->select(r.model);
    if (!wid) {
      // Nobody has room for anything, or only this model has to wait.
      return s.balancer->select("") ? ServiceQueue::Offer::kSkip : ServiceQueue::Offer::kStop;
    }
    // A worker that turned out to be gone keeps the request where it is; pumping resumes once
    // the lost worker is removed.
    return dispatch(r, *wid) ? ServiceQueue::Offer::kTaken : ServiceQueue::Offer::kStop;
  });
}

void Router::failQueued(Service& s, ErrorCode code, const std::string& message) {
  auto live = [this](const std::string& key, uint64_t seq) {
    Request* r = requests_.find(key);
    return r && r->seq == seq && r->worker == 0;
  };
  for (const std::string& key : s.queue.drainLive(live)) {
    Request* r = requests_.find(key);
    if (code == ErrorCode::kUnavailable) ++counters_.unavailable;
    replyError(r->client, r->id, code, message);
    requests_.erase(key);
  }
}

void Router::reapLostWorkers() {
  while (!lost_workers_.empty()) {
    MemberId id = lost_workers_.back();
    lost_workers_.pop_back();
    removeWorker(id, "disconnected");
  }
}

void Router::finish(const std::string& key, Request& r, ErrorCode code) {
  Service& s = *r.service;
  if (r.worker && !r.admin) {
    Outcome outcome = code == ErrorCode::kOk               ? Outcome::kSuccess
                      : proto::countsAsWorkerFailure(code) ? Outcome::kFailure
                                                           : Outcome::kNeutral;
    s.balancer->onFinish(r.worker, outcome);
    if (outcome == Outcome::kFailure) {
      if (RegisteredWorker* w = registry_.byId(r.worker)) ++w->failures;
    }
  }
  if (!r.admin)
    countResponse(s, code, std::chrono::duration<double>(loop_.now() - r.started).count());
  requests_.erase(key);
  if (!s.queue.empty()) pumpQueue(s);
}

void Router::countResponse(Service& s, ErrorCode code, double seconds) {
  s.latency->observe(seconds);
  if (code == ErrorCode::kOk) {
    s.ok->inc();
  } else {
    metrics_
        .counter("sb_router_responses_total", "Requests ended, by code",
                 {{"service", s.name}, {"code", std::string(proto::errorCodeName(code))}})
        .inc();
  }
}

// ---- worker side ----

void Router::onWorkers() {
  for (int i = 0; i < kBatch; ++i) {
    bool too_many = false;
    size_t n = recvMessage(workers_, frames_, 5, too_many);
    if (n == 0) return;
    handleWorkerMessage(frames_, n, too_many);
    reapLostWorkers();
  }
}

void Router::handleWorkerMessage(Frames& f, size_t n, bool too_many) {
  std::string identity(view(f[0]));
  RegisteredWorker* w = registry_.byIdentity(identity);
  if (w) registry_.seen(*w, loop_.now());
  if (n != 4 || too_many) {
    ++counters_.dropped;
    spdlog::warn("dropped a {}-frame message from a worker", n);
    return;
  }
  Header h;
  proto::Status st = proto::decodeHeader(view(f[2]), options_.limits, h);
  if (!st.ok()) {
    ++counters_.dropped;
    spdlog::warn("dropped a frame from worker {}: {}", w ? w->name : "(unknown)", st.message);
    return;
  }
  if (h.kind == Kind::kReady) {
    onReady(identity, h.service, view(f[3]), zap_ ? peerKey(f[2]) : "");
    return;
  }
  if (!w) {
    // We do not know this worker (we restarted, or it was timed out): ask it to announce.
    if (h.kind != Kind::kBye) sendControl(identity, Kind::kBye);
    return;
  }
  onWorkerFrame(*w, f, h);
}

void Router::refuse(const std::string& identity, const std::string& why) {
  ++counters_.refused;
  spdlog::warn("refused a worker's announcement: {}", why);
  Header h;
  h.kind = Kind::kError;
  h.id = 0;
  h.error = ErrorCode::kInvalidArgument;
  h.message = why;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[4] = {frame(identity), zmq::message_t(), frame(header_buf_),
                             zmq::message_t()};
  sendMessage(workers_, parts);
}

void Router::onReady(const std::string& identity, std::string_view header_service,
                     std::string_view body, const std::string& key) {
  proto::Announcement a;
  proto::Status st = proto::decodeAnnouncement(body, options_.limits, a);
  if (!st.ok()) {
    refuse(identity, st.message);
    return;
  }
  if (a.service != header_service) {
    refuse(identity, "the announcement's svc '" + a.service + "' differs from the header's '" +
                         std::string(header_service) + "'");
    return;
  }
  if (zap_) {
    const auth::CurvePeer* p = zap_->peers().find(auth::PeerRole::kWorker, key);
    if (!p) {
      refuse(identity, "this worker's CURVE key is no longer allowed");
      return;
    }
    if (!p->mayServe(a.service)) {
      refuse(identity, "the CURVE key of '" + p->name + "' may not serve '" + a.service + "'");
      return;
    }
  }
  auto admission = registry_.admit(identity, a);
  switch (admission.kind) {
    case WorkerRegistry::Admission::kRefuse:
      refuse(identity, admission.why);
      return;
    case WorkerRegistry::Admission::kReplace:
      removeWorker(admission.previous, "reconnected");
      break;
    case WorkerRegistry::Admission::kMove:
      removeWorker(admission.previous, "changed service");
      break;
    default:
      break;
  }
  bool fresh = admission.kind != WorkerRegistry::Admission::kUpdate;
  RegisteredWorker& w = registry_.upsert(identity, a, loop_.now());
  w.curve_key = key;
  Service& s = service(w.service);
  s.balancer->upsert(w.id, w.spec);
  s.balancer->setDraining(w.id, w.draining);
  if (fresh && !w.draining) ++s.live;
  spdlog::info("worker {} joined '{}' (capacity {}, weight {}{})", w.name, w.service,
               w.spec.capacity, w.spec.weight, w.spec.backup ? ", backup" : "");
  sendControl(identity, Kind::kHeartbeat);  // tells the worker it is registered
  pumpQueue(s);
}

void Router::setDraining(RegisteredWorker& w) {
  if (w.draining) return;
  w.draining = true;
  Service& s = service(w.service);
  s.balancer->setDraining(w.id, true);
  if (--s.live == 0) s.none_live_since = loop_.now();
}

void Router::onWorkerFrame(RegisteredWorker& w, Frames& f, const Header& h) {
  switch (h.kind) {
    case Kind::kHeartbeat:
      return;
    case Kind::kDrain:
      if (!w.draining) spdlog::info("worker {} is draining", w.name);
      setDraining(w);
      sendControl(w.identity, Kind::kDrain);  // acknowledges: nothing new will follow
      return;
    case Kind::kBye:
      removeWorker(w.id, "said bye");
      return;
    case Kind::kChunk:
    case Kind::kReply:
    case Kind::kError:
      break;
    default:
      ++counters_.dropped;
      return;
  }
  std::string key = RequestTable::key(view(f[1]), h.id);
  Request* r = requests_.find(key);
  if (!r || r->worker != w.id) return;  // ended already
  if (h.kind == Kind::kChunk) {
    ++counters_.chunks;
    if (r->client_done) return;
    r->streamed = true;
    if (!toClient(&f[1], 3)) {
      ++counters_.client_gone;
      r->client_done = true;
      sendCancel(w, *r);
    }
    return;
  }
  ErrorCode code = h.kind == Kind::kReply ? ErrorCode::kOk : h.error;
  if (code == ErrorCode::kOk)
    ++counters_.replies;
  else
    ++counters_.errors;
  if (!r->client_done && !toClient(&f[1], 3)) ++counters_.client_gone;
  finish(key, *r, code);
}

void Router::removeWorker(MemberId id, const char* why) {
  std::optional<RegisteredWorker> removed = registry_.remove(id);
  if (!removed) return;
  const RegisteredWorker& w = *removed;
  Service& s = service(w.service);
  s.balancer->remove(id);
  if (!w.draining && --s.live == 0) s.none_live_since = loop_.now();
  metrics_.removeSeriesWith("worker", w.name);
  std::vector<std::string> keys = requests_.on(id);
  spdlog::info("worker {} left '{}' ({}), {} request(s) in flight on it", w.name, w.service, why,
               keys.size());
  for (const auto& key : keys) {
    Request* r = requests_.find(key);
    if (!r) continue;
    if (r->idempotent && !r->streamed && !r->client_done && !r->admin) {
      // Safe to run again elsewhere: nothing reached the client yet.
      r->worker = 0;
      s.queue.pushFront(key, r->seq);
      ++counters_.redispatched;
      continue;
    }
    if (!r->client_done) {
      ++counters_.unavailable;
      replyError(r->client, r->id, ErrorCode::kUnavailable,
                 "worker " + w.name + " " + why + " while serving the request" +
                     (r->streamed ? " (a partial stream was delivered)" : ""));
    }
    requests_.erase(key);
  }
  pumpQueue(s);
}

SendResult Router::sendControl(const std::string& identity, Kind kind) {
  Header h;
  h.kind = kind;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[4] = {frame(identity), zmq::message_t(), frame(header_buf_),
                             zmq::message_t()};
  return sendMessage(workers_, parts);
}

void Router::sendCancel(const RegisteredWorker& w, const Request& r) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = r.id;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[4] = {frame(w.identity), frame(r.client), frame(header_buf_),
                             zmq::message_t()};
  sendMessage(workers_, parts);
}

bool Router::replyError(std::string_view client, uint64_t id, ErrorCode code,
                        const std::string& message) {
  Header h;
  h.kind = Kind::kError;
  h.id = id;
  h.error = code;
  h.message = message;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  if (code == ErrorCode::kDeadlineExceeded) ++counters_.deadline_exceeded;
  zmq::message_t parts[3] = {frame(client), frame(header_buf_), zmq::message_t()};
  return toClient(parts, 3);
}

bool Router::toClient(zmq::message_t* parts, size_t n) {
  SendResult res = sendMessage(clients_, parts, n);
  if (res == SendResult::kOk) return true;
  if (res != SendResult::kUnroutable) ++counters_.dropped;
  return false;
}

// ---- time ----

void Router::housekeeping() {
  TimePoint now = loop_.now();
  for (MemberId id : registry_.dead(now)) removeWorker(id, "missed its heartbeats");
  for (MemberId id : registry_.heartbeatsDue(now)) {
    // Unroutable means libzmq saw the connection close: the worker is gone (a reconnect
    // would come back under a new identity), so do not wait for the liveness timeout.
    if (sendControl(registry_.byId(id)->identity, Kind::kHeartbeat) == SendResult::kUnroutable) {
      lost_workers_.push_back(id);
    }
  }
  reapLostWorkers();
  // Requests waiting for a service with no live worker end once the grace has passed.
  for (auto& [name, s] : services_) {
    if (s->live == 0 && !s->queue.empty() && now - s->none_live_since >= options_.no_worker_grace) {
      failQueued(*s, ErrorCode::kUnavailable,
                 "no live worker of '" + name + "' for " +
                     std::to_string(ms(now - s->none_live_since)) +
                     " ms (none registered, or all draining)");
    }
  }
  if (now >= requests_.earliestDeadline()) checkDeadlines();
  forgetQuietClients();
  if (draining_) checkDrained();
}

void Router::armDeadline(TimePoint when) {
  if (!requests_.noteDeadline(when)) return;
  deadline_timer_ = loop_.after(when - loop_.now(), [this] { checkDeadlines(); });
}

void Router::checkDeadlines() {
  TimePoint now = loop_.now();
  std::vector<TimePoint> extended;
  for (const auto& key : requests_.expired(now)) {
    Request* r = requests_.find(key);
    if (!r) continue;  // ended by an earlier step of this loop
    if (r->worker == 0) {
      r->service->queue.forget();
      replyError(
          r->client, r->id, ErrorCode::kDeadlineExceeded,
          "deadline exceeded while queued: no worker of '" + r->service->name + "' was free");
      requests_.erase(key);
      continue;
    }
    RegisteredWorker* w = registry_.byId(r->worker);
    if (!r->client_done) {
      replyError(r->client, r->id, ErrorCode::kDeadlineExceeded,
                 "deadline exceeded; the request was cancelled on worker " +
                     (w ? w->name : std::string("?")));
      r->client_done = true;
      if (w) {
        sendCancel(*w, *r);
        // The slot stays taken until the worker's final frame, with this much grace.
        r->deadline = now + w->heartbeat * w->liveness;
        extended.push_back(r->deadline);
        continue;
      }
    }
    spdlog::warn("worker {} never answered a cancel; releasing its slot",
                 w ? w->name : std::string("?"));
    finish(key, *r, ErrorCode::kInternal);
  }
  for (TimePoint t : extended) requests_.noteDeadline(t);
  deadline_timer_.cancel();
  if (requests_.earliestDeadline() != TimePoint::max()) {
    deadline_timer_ = loop_.after(requests_.earliestDeadline() - now, [this] { checkDeadlines(); });
  }
}

}  // namespace sb::router
