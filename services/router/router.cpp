#include "router.h"

#include <random>

#include <spdlog/spdlog.h>

#include "sb/core/frames.h"
#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

namespace sb::router {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

namespace {

// Requests are keyed by the client's routing identity and its request id; ZMQ identities are
// 5 bytes by default, so the key fits std::string's inline buffer (no allocation).
std::string requestKey(std::string_view client, uint64_t id) {
  std::string key;
  key.reserve(client.size() + sizeof(id));
  key.append(client);
  key.append(reinterpret_cast<const char*>(&id), sizeof(id));
  return key;
}

constexpr int kBatch = 512;  // messages handled per socket wake-up before polling again

}  // namespace

Router::Router(zmq::context_t& context, EventLoop& loop, RouterOptions options)
    : context_(context),
      loop_(loop),
      options_(std::move(options)),
      frontend_(context, zmq::socket_type::router),
      backend_(context, zmq::socket_type::router),
      started_(loop.now()) {
  for (zmq::socket_t* s : {&frontend_, &backend_}) {
    // Mandatory routing turns "peer gone" into an error we act on (cancel its work) instead
    // of a silent drop.
    s->set(zmq::sockopt::router_mandatory, 1);
    s->set(zmq::sockopt::sndhwm, 1000000);
    s->set(zmq::sockopt::rcvhwm, 1000000);
    s->set(zmq::sockopt::linger, 0);
    // A hard cap far above the body limit: frames between the two get a RESOURCE_EXHAUSTED
    // reply; only absurd ones make libzmq drop the connection.
    s->set(zmq::sockopt::maxmsgsize,
           static_cast<int64_t>(std::max<size_t>(64u << 20, 4 * options_.limits.max_body_bytes)));
  }
  requests_.reserve(8192);
  frontend_.bind(options_.frontend);
  backend_.bind(options_.backend);
  frontend_watch_ = loop_.addSocket(frontend_, [this] { onFrontend(); });
  backend_watch_ = loop_.addSocket(backend_, [this] { onBackend(); });
  housekeeping_timer_ = loop_.every(Millis(100), [this] { housekeeping(); });
  spdlog::info("clients on {}, workers on {}, policy {}", frontendEndpoint(), backendEndpoint(),
               options_.policy);
}

Router::~Router() = default;  // the loop registrations are handles: they go with us

std::string Router::frontendEndpoint() const { return frontend_.get(zmq::sockopt::last_endpoint); }
std::string Router::backendEndpoint() const { return backend_.get(zmq::sockopt::last_endpoint); }

Router::Service& Router::service(std::string_view name) {
  auto it = services_.find(std::string(name));
  if (it != services_.end()) return *it->second;
  auto s = std::make_unique<Service>();
  s->name = std::string(name);
  s->balancer = makeBalancer(options_.policy, loop_.clock(), loop_.random(), options_.failure);
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

void Router::onFrontend() {
  for (int i = 0; i < kBatch; ++i) {
    bool too_many = false;
    size_t n = recvMessage(frontend_, parts_, 4, too_many);
    if (n == 0) return;
    handleClientMessage(n, too_many);
    reapLostWorkers();
  }
}

void Router::handleClientMessage(size_t n, bool too_many) {
  std::string_view client = view(parts_[0]);
  if (n != 3 || too_many) {
    ++counters_.malformed;
    replyError(client, 0, ErrorCode::kInvalidArgument,
               "a client message is exactly two frames: header, body");
    return;
  }
  Header h;
  proto::Status st = proto::decodeHeader(view(parts_[1]), options_.limits, h);
  if (!st.ok()) {
    ++counters_.malformed;
    spdlog::debug("bad header from a client: {}", st.message);
    replyError(client, 0, st.code, st.message);
    return;
  }
  if (parts_[2].size() > options_.limits.max_body_bytes) {
    ++counters_.malformed;
    replyError(client, h.id, ErrorCode::kResourceExhausted,
               "body of " + std::to_string(parts_[2].size()) + " bytes exceeds the limit of " +
                   std::to_string(options_.limits.max_body_bytes));
    return;
  }
  switch (h.kind) {
    case Kind::kRequest:
      handleRequest(h);
      break;
    case Kind::kCancel:
      handleCancel(h);
      break;
    default:
      ++counters_.malformed;
      replyError(client, h.id, ErrorCode::kInvalidArgument,
                 std::string("clients send request or cancel, not ") +
                     std::string(proto::kindName(h.kind)));
  }
}

void Router::handleRequest(const Header& h) {
  ++counters_.requests;
  std::string_view client = view(parts_[0]);
  if (h.service == "router") {
    handleAdmin(h);
    return;
  }
  std::string key = requestKey(client, h.id);
  if (requests_.count(key)) {
    replyError(client, h.id, ErrorCode::kInvalidArgument,
               "request id " + std::to_string(h.id) + " is already in flight");
    return;
  }
  // Unknown services get no state: a client must not be able to grow the router's memory by
  // naming services that do not exist.
  auto sit = services_.find(std::string(h.service));
  if (sit == services_.end()) {
    ++counters_.unavailable;
    replyError(client, h.id, ErrorCode::kUnavailable,
               "no worker has registered for service '" + std::string(h.service) + "'");
    return;
  }
  Service& s = *sit->second;
  s.requests->inc();
  WorkerId wid = 0;
  bool admin = false;
  if (!h.target.empty()) {
    for (const auto& [id, w] : workers_) {
      if (w.name == h.target && w.service == h.service) wid = id;
    }
    if (!wid) {
      replyError(client, h.id, ErrorCode::kNotFound,
                 "no worker named '" + std::string(h.target) + "' in service '" +
                     std::string(h.service) + "'");
      return;
    }
    admin = true;
  } else {
    wid = s.balancer->select(h.model).value_or(0);
  }

  auto [it, inserted] = requests_.try_emplace(key);
  Request& r = it->second;
  r.seq = next_seq_++;
  r.service = &s;
  r.admin = admin;
  r.client = std::string(client);
  r.id = h.id;
  r.model = std::string(h.model);
  r.started = loop_.now();
  r.deadline = r.started + (h.deadline_ms ? Millis(h.deadline_ms) : options_.default_deadline);
  r.idempotent = h.idempotent;
  r.header = std::move(parts_[1]);
  r.body = std::move(parts_[2]);
  armDeadline(r.deadline);

  if (wid) {
    if (!dispatch(r, wid)) {
      if (admin) {
        // Addressed to that worker alone, which is gone.
        ++counters_.unavailable;
        replyError(client, h.id, ErrorCode::kUnavailable,
                   "worker " + std::string(h.target) + " is gone");
        requests_.erase(it);
      } else {
        s.queue.emplace_front(key, r.seq);  // onFrontend reaps the lost worker next
        ++s.queued;
      }
    }
    return;
  }
  if (s.queued >= options_.queue_size) {
    ++counters_.resource_exhausted;
    replyError(client, h.id, ErrorCode::kResourceExhausted,
               "queue for service '" + s.name + "' is full (" +
                   std::to_string(options_.queue_size) + " waiting)");
    requests_.erase(it);
    return;
  }
  s.queue.emplace_back(key, r.seq);
  ++s.queued;
  ++counters_.queued;
}

void Router::handleCancel(const Header& h) {
  std::string_view client = view(parts_[0]);
  auto it = requests_.find(requestKey(client, h.id));
  if (it == requests_.end() || it->second.client_done) return;  // already ended
  Request& r = it->second;
  ++counters_.cancelled;
  replyError(client, h.id, ErrorCode::kCancelled, "cancelled by the client");
  if (r.worker == 0) {
    --r.service->queued;
    requests_.erase(it);
    return;
  }
  r.client_done = true;
  sendCancel(workers_.at(r.worker), r);
}

bool Router::dispatch(Request& r, WorkerId wid) {
  Worker& w = workers_.at(wid);
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
  if (sendMessage(backend_, parts) != SendResult::kOk) {
    // libzmq forgets a peer as soon as its connection closes, so an unroutable worker is gone
    // (killed, crashed) even if its heartbeats have not timed out yet; one a million messages
    // behind (full pipe) is as good as gone. Nothing was sent, so
    // the request is safe to dispatch elsewhere whatever its idempotency: take its frames
    // back and let the caller queue it; the worker leaves rotation now.
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
  while (!s.queue.empty()) {
    auto it = requests_.find(s.queue.front().first);
    if (it != requests_.end() && it->second.seq == s.queue.front().second &&
        it->second.worker == 0) {
      break;
    }
    s.queue.pop_front();  // stale: expired or cancelled while queued
  }
  // FIFO, except that a request whose model no worker can take now does not block the ones
  // behind it.
  for (size_t i = 0; i < s.queue.size() && s.queued > 0;) {
    auto [key, seq] = s.queue[i];
    auto it = requests_.find(key);
    if (it == requests_.end() || it->second.seq != seq || it->second.worker != 0) {
      s.queue.erase(s.queue.begin() + static_cast<long>(i));
      continue;
    }
    auto wid = s.balancer->select(it->second.model);
    if (!wid) {
      if (!s.balancer->select("")) return;  // nobody has room for anything
      ++i;
      continue;
    }
    s.queue.erase(s.queue.begin() + static_cast<long>(i));
    --s.queued;
    if (!dispatch(it->second, *wid)) {
      // Back where it was; pumping resumes once the lost worker is removed.
      s.queue.insert(s.queue.begin() + static_cast<long>(i), {key, seq});
      ++s.queued;
      return;
    }
  }
}

void Router::reapLostWorkers() {
  while (!lost_workers_.empty()) {
    WorkerId id = lost_workers_.back();
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
      if (auto wit = workers_.find(r.worker); wit != workers_.end()) ++wit->second.failures;
    }
  }
  s.latency->observe(std::chrono::duration<double>(loop_.now() - r.started).count());
  if (code == ErrorCode::kOk) {
    s.ok->inc();
  } else {
    metrics_
        .counter("sb_router_responses_total", "Requests ended, by code",
                 {{"service", s.name}, {"code", std::string(proto::errorCodeName(code))}})
        .inc();
  }
  requests_.erase(key);
  if (s.queued > 0) pumpQueue(s);
}

// ---- worker side ----

void Router::onBackend() {
  for (int i = 0; i < kBatch; ++i) {
    bool too_many = false;
    size_t n = recvMessage(backend_, parts_, 5, too_many);
    if (n == 0) return;
    handleWorkerMessage(n, too_many);
    reapLostWorkers();
  }
}

void Router::handleWorkerMessage(size_t n, bool too_many) {
  std::string identity(view(parts_[0]));
  auto known = by_identity_.find(identity);
  Worker* w = known == by_identity_.end() ? nullptr : &workers_.at(known->second);
  if (w) w->last_seen = loop_.now();
  if (n != 4 || too_many) {
    ++counters_.dropped;
    spdlog::warn("dropped a {}-frame message from a worker", n);
    return;
  }
  Header h;
  proto::Status st = proto::decodeHeader(view(parts_[2]), options_.limits, h);
  if (!st.ok()) {
    ++counters_.dropped;
    spdlog::warn("dropped a frame from worker {}: {}", w ? w->name : "(unknown)", st.message);
    return;
  }
  if (h.kind == Kind::kReady) {
    onReady(w, identity, view(parts_[3]));
    return;
  }
  if (!w) {
    // We do not know this worker (we restarted, or it was timed out): ask it to announce.
    if (h.kind != Kind::kBye) sendControl(identity, Kind::kBye);
    return;
  }
  onWorkerFrame(*w, h);
}

void Router::onReady(Worker* known, const std::string& identity, std::string_view body) {
  msgpack::object_handle oh;
  proto::Status st = proto::decodeBody(body, options_.limits, oh);
  const msgpack::object& o = oh.get();
  const msgpack::object* name = st.ok() ? proto::findKey(o, "name") : nullptr;
  const msgpack::object* svc = st.ok() ? proto::findKey(o, "svc") : nullptr;
  if (!name || name->type != msgpack::type::STR || !svc || svc->type != msgpack::type::STR ||
      svc->via.str.size == 0) {
    ++counters_.dropped;
    spdlog::warn("ignored a ready message without name and service");
    return;
  }
  WorkerSpec spec;
  Millis heartbeat = options_.heartbeat;
  uint32_t liveness = options_.liveness;
  try {
    if (auto* v = proto::findKey(o, "cap")) spec.capacity = v->as<uint32_t>();
    if (auto* v = proto::findKey(o, "w")) spec.weight = v->as<uint32_t>();
    if (auto* v = proto::findKey(o, "backup")) spec.backup = v->as<bool>();
    if (auto* v = proto::findKey(o, "models")) spec.tags = v->as<std::vector<std::string>>();
    if (auto* v = proto::findKey(o, "hb")) heartbeat = Millis(v->as<uint32_t>());
    if (auto* v = proto::findKey(o, "liveness")) liveness = v->as<uint32_t>();
  } catch (const std::exception&) {
    ++counters_.dropped;
    spdlog::warn("ignored a ready message with badly typed fields");
    return;
  }
  if (spec.capacity == 0) spec.capacity = 1;
  if (heartbeat.count() <= 0) heartbeat = options_.heartbeat;
  if (liveness == 0) liveness = options_.liveness;
  std::string svc_name = svc->as<std::string>();
  if (svc_name == "router") {
    ++counters_.dropped;
    spdlog::warn("refused worker {}: 'router' is the router's own service",
                 name->as<std::string>());
    return;
  }
  if (known && known->service != svc_name) {
    removeWorker(known->id, "changed service");
    known = nullptr;
  }
  Worker* w = known;
  if (!w) {
    WorkerId id = next_worker_++;
    w = &workers_[id];
    w->id = id;
    w->identity = identity;
    w->joined = loop_.now();
    by_identity_[identity] = id;
  }
  w->name = name->as<std::string>();
  w->service = svc_name;
  w->spec = spec;
  w->heartbeat = heartbeat;
  w->liveness = liveness;
  w->last_seen = loop_.now();
  w->next_heartbeat = loop_.now() + heartbeat;
  Service& s = service(svc_name);
  s.balancer->upsert(w->id, spec);
  s.balancer->setDraining(w->id, w->draining);
  spdlog::info("worker {} joined '{}' (capacity {}, weight {}{})", w->name, svc_name, spec.capacity,
               spec.weight, spec.backup ? ", backup" : "");
  sendControl(identity, Kind::kHeartbeat);  // tells the worker it is registered
  pumpQueue(s);
}

void Router::onWorkerFrame(Worker& w, const Header& h) {
  switch (h.kind) {
    case Kind::kHeartbeat:
      return;
    case Kind::kDrain:
      if (!w.draining) spdlog::info("worker {} is draining", w.name);
      w.draining = true;
      service(w.service).balancer->setDraining(w.id, true);
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
  std::string key = requestKey(view(parts_[1]), h.id);
  auto it = requests_.find(key);
  if (it == requests_.end() || it->second.worker != w.id) return;  // ended already
  Request& r = it->second;
  if (h.kind == Kind::kChunk) {
    ++counters_.chunks;
    if (r.client_done) return;
    r.streamed = true;
    if (!toClient(&parts_[1], 3)) {
      ++counters_.client_gone;
      r.client_done = true;
      sendCancel(w, r);
    }
    return;
  }
  ErrorCode code = h.kind == Kind::kReply ? ErrorCode::kOk : h.error;
  if (code == ErrorCode::kOk)
    ++counters_.replies;
  else
    ++counters_.errors;
  if (!r.client_done && !toClient(&parts_[1], 3)) ++counters_.client_gone;
  finish(key, r, code);
}

void Router::removeWorker(WorkerId id, const char* why) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker w = std::move(it->second);
  workers_.erase(it);
  by_identity_.erase(w.identity);
  Service& s = service(w.service);
  s.balancer->remove(id);
  metrics_.removeSeriesWith("worker", w.name);
  std::vector<std::string> keys;
  for (const auto& [key, r] : requests_) {
    if (r.worker == id) keys.push_back(key);
  }
  spdlog::info("worker {} left '{}' ({}), {} request(s) in flight on it", w.name, w.service, why,
               keys.size());
  for (const auto& key : keys) {
    auto rit = requests_.find(key);
    if (rit == requests_.end()) continue;
    Request& r = rit->second;
    if (r.idempotent && !r.streamed && !r.client_done && !r.admin) {
      // Safe to run again elsewhere: nothing reached the client yet.
      r.worker = 0;
      s.queue.emplace_front(key, r.seq);
      ++s.queued;
      ++counters_.redispatched;
      continue;
    }
    if (!r.client_done) {
      ++counters_.unavailable;
      replyError(r.client, r.id, ErrorCode::kUnavailable,
                 "worker " + w.name + " " + why + " while serving the request" +
                     (r.streamed ? " (a partial stream was delivered)" : ""));
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
  return sendMessage(backend_, parts);
}

void Router::sendCancel(const Worker& w, const Request& r) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = r.id;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[4] = {frame(w.identity), frame(r.client), frame(header_buf_),
                             zmq::message_t()};
  sendMessage(backend_, parts);
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
  SendResult res = sendMessage(frontend_, parts, n);
  if (res == SendResult::kOk) return true;
  if (res != SendResult::kUnroutable) ++counters_.dropped;
  return false;
}

// ---- time ----

void Router::housekeeping() {
  TimePoint now = loop_.now();
  std::vector<WorkerId> dead;
  for (auto& [id, w] : workers_) {
    if (now - w.last_seen > w.heartbeat * w.liveness) {
      dead.push_back(id);
    } else if (now >= w.next_heartbeat) {
      // Unroutable means libzmq saw the connection close: the worker is gone (a reconnect
      // would come back under a new identity), so do not wait for the liveness timeout.
      if (sendControl(w.identity, Kind::kHeartbeat) == SendResult::kUnroutable) {
        lost_workers_.push_back(id);
      }
      w.next_heartbeat = now + w.heartbeat;
    }
  }
  for (WorkerId id : dead) removeWorker(id, "missed its heartbeats");
  reapLostWorkers();
  if (now >= earliest_deadline_) checkDeadlines();
}

void Router::armDeadline(TimePoint when) {
  if (when >= earliest_deadline_) return;
  earliest_deadline_ = when;
  deadline_timer_ = loop_.after(when - loop_.now(), [this] { checkDeadlines(); });
}

// A scan of the (bounded) request table, run only when the earliest known deadline is due:
// cheaper than keeping every request in a timer heap until its deadline passes.
void Router::checkDeadlines() {
  TimePoint now = loop_.now();
  TimePoint earliest = TimePoint::max();
  std::vector<std::string> expired;
  for (const auto& [key, r] : requests_) {
    if (r.deadline <= now)
      expired.push_back(key);
    else
      earliest = std::min(earliest, r.deadline);
  }
  for (const auto& key : expired) {
    auto rit = requests_.find(key);
    if (rit == requests_.end()) continue;  // ended by an earlier step of this loop
    Request& r = rit->second;
    if (r.worker == 0) {
      --r.service->queued;
      replyError(r.client, r.id, ErrorCode::kDeadlineExceeded,
                 "deadline exceeded while queued: no worker of '" + r.service->name + "' was free");
      requests_.erase(key);
      continue;
    }
    auto wit = workers_.find(r.worker);
    if (!r.client_done) {
      replyError(r.client, r.id, ErrorCode::kDeadlineExceeded,
                 "deadline exceeded; the request was cancelled on worker " +
                     (wit != workers_.end() ? wit->second.name : std::string("?")));
      r.client_done = true;
      if (wit != workers_.end()) {
        sendCancel(wit->second, r);
        // The slot stays taken until the worker's final frame, with this much grace.
        r.deadline = now + wit->second.heartbeat * wit->second.liveness;
        earliest = std::min(earliest, r.deadline);
        continue;
      }
    }
    spdlog::warn("worker {} never answered a cancel; releasing its slot",
                 wit != workers_.end() ? wit->second.name : std::string("?"));
    finish(key, r, ErrorCode::kInternal);
  }
  earliest_deadline_ = TimePoint::max();
  deadline_timer_.cancel();
  if (earliest != TimePoint::max()) armDeadline(earliest);
}

}  // namespace sb::router
