#include "worker_core.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sb/core/frames.h"
#include "sb/proto/announcement.h"
#include "sb/proto/header_codec.h"

namespace sb {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

namespace {

constexpr int kBatch = 256;  // messages handled per socket wake-up before polling again

}  // namespace

WorkerCore::WorkerCore(zmq::context_t& context, EventLoop& loop, WorkerOptions options)
    : context_(context), loop_(loop), options_(std::move(options)) {
  if (options_.name.empty()) options_.name = defaultWorkerName(options_.service, loop_.random());
  if (options_.capacity == 0) options_.capacity = 1;
  instance_ = loop_.random().next() | 1;  // never 0, which means "not given"
}

void WorkerCore::start() {
  RouterLink::Options lo;
  lo.heartbeat = options_.heartbeat;
  lo.liveness = options_.liveness;
  lo.backoff_min = options_.reconnect_min;
  lo.backoff_max = options_.reconnect_max;
  for (const auto& ep : options_.routers) {
    links_.push_back(Link{ep, RouterLink(lo), {}, {}, {}, {}});
  }
  for (size_t i = 0; i < links_.size(); ++i) connect(i);
  heartbeat_timer_ = loop_.every(options_.heartbeat, [this] { tick(); });
  spdlog::info("worker {} serving '{}' capacity {} weight {}{} on {} router(s)", options_.name,
               options_.service, options_.capacity, options_.weight,
               options_.backup ? " (backup)" : "", links_.size());
}

void WorkerCore::connect(size_t idx) {
  Link& link = links_[idx];
  link.handshake.reset();  // (it watches the socket replaced here)
  link.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  applyCurveClient(*link.socket, options_.curve);
  link.socket->set(zmq::sockopt::linger, 1000);
  link.socket->set(zmq::sockopt::sndhwm, 100000);
  link.socket->set(zmq::sockopt::rcvhwm, 100000);
  // libzmq's own TCP reconnect uses the same backoff as our liveness-driven reconnects.
  link.socket->set(zmq::sockopt::reconnect_ivl, static_cast<int>(options_.reconnect_min.count()));
  link.socket->set(zmq::sockopt::reconnect_ivl_max,
                   static_cast<int>(options_.reconnect_max.count()));
  // (Watched before it connects: a refused first handshake is over in a moment.)
  link.handshake = std::make_unique<HandshakeWatch>(context_, loop_, *link.socket, link.endpoint,
                                                    options_.curve);
  link.socket->connect(link.endpoint);
  // `this` is safe in every loop callback below: the handles are members of our links.
  link.watch = loop_.addSocket(*link.socket, [this, idx] { onReadable(idx); });
  link.state.connected(loop_.now());
  announce(idx);
  if (draining_) {
    sendControl(idx, Kind::kDrain);
    link.state.drainSent();
  }
}

void WorkerCore::announce(size_t idx) {
  proto::Announcement a;
  a.name = options_.name;
  a.service = options_.service;
  a.models = options_.models;
  a.capacity = options_.capacity;
  a.weight = options_.weight;
  a.backup = options_.backup;
  a.heartbeat_ms = static_cast<uint32_t>(options_.heartbeat.count());
  a.liveness = options_.liveness;
  a.instance = instance_;
  Header h;
  h.kind = Kind::kReady;
  h.service = options_.service;
  sendFrames(idx, zmq::message_t(), h, proto::encodeAnnouncement(a));
}

void WorkerCore::sendControl(size_t idx, Kind kind) {
  Header h;
  h.kind = kind;
  sendFrames(idx, zmq::message_t(), h, {});
}

void WorkerCore::sendFrames(size_t idx, const zmq::message_t& envelope, const Header& h,
                            std::string_view body) {
  Link& link = links_[idx];
  if (!link.socket) return;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[3] = {zmq::message_t(envelope.data(), envelope.size()), frame(header_buf_),
                             frame(body)};
  if (sendMessage(*link.socket, parts) != SendResult::kOk) {
    spdlog::warn("worker {} could not send {} to {}", options_.name, proto::kindName(h.kind),
                 link.endpoint);
  }
}

void WorkerCore::tick() {
  TimePoint now = loop_.now();
  for (size_t i = 0; i < links_.size(); ++i) {
    Link& link = links_[i];
    if (!link.socket) continue;
    if (link.state.silent(now)) {
      drop(i, "silent for heartbeat x liveness");
      continue;
    }
    sendControl(i, Kind::kHeartbeat);
  }
}

void WorkerCore::drop(size_t idx, const char* why) {
  Link& link = links_[idx];
  abandonCalls(idx);
  link.watch.cancel();
  link.socket.reset();
  Millis wait = link.state.lost();
  if (draining_) {
    spdlog::warn("worker {}: router {} {}; draining, so not reconnecting", options_.name,
                 link.endpoint, why);
    maybeFinishDrain();
    return;
  }
  spdlog::warn("worker {}: router {} {}; reconnecting in {} ms", options_.name, link.endpoint, why,
               wait.count());
  link.reconnect = loop_.after(wait, [this, idx] { connect(idx); });
}

void WorkerCore::abandonCalls(size_t idx) {
  // A snapshot of strong references: a cancel callback may release other calls of this link
  // (a handler's wait list), which must stay valid until this loop is done with them.
  for (const CallPtr& call : calls_.on(idx)) call->cancel(false);
}

void WorkerCore::failAll(ErrorCode code, const std::string& message) {
  for (const CallPtr& call : calls_.all()) {
    if (call->done()) continue;  // ended by an earlier callback of this loop
    auto fn = std::move(call->on_cancel_);
    call->on_cancel_ = nullptr;
    call->fail(code, message);
    call->cancelled_ = true;
    if (fn) runCallback(*call, fn);
  }
}

void WorkerCore::runCallback(const Call& call, const std::function<void()>& fn) {
  loop_.guarded(call.op(), fn);
}

void WorkerCore::onReadable(size_t idx) {
  for (int budget = 0; budget < kBatch; ++budget) {
    Link& link = links_[idx];
    if (!link.socket) return;
    bool too_many = false;
    size_t n = recvMessage(*link.socket, frames_, 4, too_many);
    if (n == 0) return;
    if (n == 2 && !too_many) {
      // Two frames is the client link's shape: a router's client endpoint answering our
      // announce with an error. Not a sign of life from a router's worker endpoint.
      Header h;
      if (proto::decodeHeader(view(frames_[0]), options_.limits, h).ok() &&
          h.kind == Kind::kError) {
        spdlog::error(
            "worker {}: {} answered like a router's client endpoint ({}); --router must name "
            "the router's worker endpoint",
            options_.name, link.endpoint, h.message);
      }
      continue;
    }
    if (n != 3 || too_many) {
      spdlog::warn("worker {}: dropped a {}-frame message from {}", options_.name, n,
                   link.endpoint);
      continue;
    }
    onMessage(idx, frames_);
  }
}

void WorkerCore::onMessage(size_t idx, Frames& frames) {
  Link& link = links_[idx];
  Header h;
  proto::Status st = proto::decodeHeader(view(frames[1]), options_.limits, h);
  if (!st.ok()) {
    spdlog::warn("worker {}: bad header from {}: {}", options_.name, link.endpoint, st.message);
    return;
  }
  if (h.kind == Kind::kError && frames[0].empty()) {
    // The router refused our announcement (a duplicate name, a bad field): not registered.
    // Try again after the backoff: a duplicate may be gone by then.
    spdlog::error("worker {}: router {} refused us: {}", options_.name, link.endpoint, h.message);
    drop(idx, "refused our announcement");
    return;
  }
  if (link.state.heard(loop_.now())) {
    spdlog::info("worker {} registered with {}", options_.name, link.endpoint);
    checkRegistered();
  }
  switch (h.kind) {
    case Kind::kRequest:
      onRequest(idx, frames);
      break;
    case Kind::kCancel:
      onCancel(idx, frames[0], h.id);
      break;
    case Kind::kDrain:
      drain();
      link.state.drainAcked();
      maybeFinishDrain();
      break;
    case Kind::kBye:
      // The router does not know us (it restarted, or timed us out while we were stalled):
      // whatever it sent us before is failed on its side, so those calls must not hold
      // capacity it will count as free. Then announce again.
      spdlog::info("worker {}: router {} asked us to announce again", options_.name, link.endpoint);
      abandonCalls(idx);
      link.state.reannounced();
      if (!draining_) {
        announce(idx);
      } else {
        // A router that does not know us sends us no work: nothing to wait for there (a
        // router restarted just before we were told to drain would otherwise hold the drain
        // until its timeout).
        maybeFinishDrain();
      }
      break;
    default:
      break;  // heartbeats only refresh liveness
  }
}

void WorkerCore::onRequest(size_t idx, Frames& frames) {
  CallPtr call(new Call());
  call->core_ = weak_from_this();
  call->link_ = idx;
  call->envelope_ = std::move(frames[0]);
  call->header_frame_ = std::move(frames[1]);
  call->body_frame_ = std::move(frames[2]);
  // Decode again from the frame the call owns: small frames live inside zmq_msg_t itself,
  // so views taken before the move would dangle.
  (void)proto::decodeHeader(view(call->header_frame_), options_.limits, call->header_);
  const Header& h = call->header_;
  if (h.deadline_ms > 0) call->deadline_ = loop_.now() + Millis(h.deadline_ms);
  call->key_ = CallTable::key(idx, view(call->envelope_), h.id);
  call->counted_ = false;
  if (!calls_.add(call)) {
    ++stats_.rejected;
    call->key_.clear();  // the running call owns that key
    call->fail(ErrorCode::kInvalidArgument, "request id already in flight");
    return;
  }
  if (h.op == "worker.ping" || h.op == "worker.stats") {
    builtin(call);
    return;
  }
  if (call->body_frame_.size() > options_.limits.max_body_bytes) {
    ++stats_.rejected;
    call->fail(ErrorCode::kInvalidArgument, "request body of " +
                                                std::to_string(call->body_frame_.size()) +
                                                " bytes exceeds the worker's limit of " +
                                                std::to_string(options_.limits.max_body_bytes));
    return;
  }
  if (auto admin = admin_handlers_.find(std::string(h.op)); admin != admin_handlers_.end()) {
    runHandler(admin->second, call);
    return;
  }
  auto it = handlers_.find(std::string(h.op));
  if (it == handlers_.end()) {
    ++stats_.rejected;
    call->fail(ErrorCode::kUnimplemented,
               "service '" + options_.service + "' has no op '" + std::string(h.op) + "'");
    return;
  }
  if (stats_.inflight >= options_.capacity) {
    ++stats_.rejected;
    call->fail(ErrorCode::kResourceExhausted, "worker at capacity");
    return;
  }
  call->counted_ = true;
  ++stats_.inflight;
  if (stats_.inflight > stats_.peak_inflight) stats_.peak_inflight = stats_.inflight;
  runHandler(it->second, call);
}

void WorkerCore::runHandler(const Handler& handler, const CallPtr& call) {
  // The boundary: a handler that throws (msgpack's as<T>() on a wrong type, say) fails its
  // own call; the process and every other call live on.
  try {
    handler(call);
  } catch (const std::exception& e) {
    ++stats_.failed;
    spdlog::error("worker {}: handler for '{}' threw: {}", options_.name, call->op(), e.what());
    call->fail(ErrorCode::kInternal,
               "the handler for '" + std::string(call->op()) + "' failed: " + e.what());
  } catch (...) {
    ++stats_.failed;
    spdlog::error("worker {}: handler for '{}' threw", options_.name, call->op());
    call->fail(ErrorCode::kInternal, "the handler for '" + std::string(call->op()) + "' failed");
  }
}

size_t WorkerCore::registeredRouters() const {
  size_t n = 0;
  for (const auto& l : links_) n += l.state.registered() ? 1 : 0;
  return n;
}

void WorkerCore::builtin(const CallPtr& call) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  if (call->op() == "worker.ping") {
    pk.pack_map(2);
    pk.pack("name"), pk.pack(options_.name);
    pk.pack("svc"), pk.pack(options_.service);
  } else {
    pk.pack_map(11);
    pk.pack("name"), pk.pack(options_.name);
    pk.pack("svc"), pk.pack(options_.service);
    pk.pack("capacity"), pk.pack(options_.capacity);
    pk.pack("inflight"), pk.pack(stats_.inflight);
    pk.pack("peak_inflight"), pk.pack(stats_.peak_inflight);
    pk.pack("handled"), pk.pack(stats_.handled);
    pk.pack("cancelled"), pk.pack(stats_.cancelled);
    pk.pack("rejected"), pk.pack(stats_.rejected);
    pk.pack("failed"), pk.pack(stats_.failed);
    pk.pack("draining"), pk.pack(draining_);
    pk.pack("pid"), pk.pack(static_cast<int64_t>(getpid()));
  }
  call->reply(std::string_view(buf.data(), buf.size()));
}

void WorkerCore::onCancel(size_t idx, const zmq::message_t& envelope, uint64_t id) {
  CallPtr call = calls_.find(CallTable::key(idx, view(envelope), id));
  if (!call) return;  // already finished: our final frame crossed the cancel
  call->cancel(true);
}

void WorkerCore::finished(Call& call) {
  calls_.remove(call);
  if (call.counted_) {
    --stats_.inflight;
    ++stats_.handled;
  }
  maybeFinishDrain();
}

void WorkerCore::drain() {
  if (draining_) return;
  draining_ = true;
  spdlog::info("worker {} draining: {} request(s) in flight", options_.name, stats_.inflight);
  for (size_t i = 0; i < links_.size(); ++i) {
    if (!links_[i].socket) continue;
    sendControl(i, Kind::kDrain);
    links_[i].state.drainSent();
  }
  drain_timer_ = loop_.after(options_.drain_timeout, [this] {
    spdlog::warn("worker {} drain timeout: failing {} request(s)", options_.name, calls_.size());
    failAll(ErrorCode::kUnavailable, "worker drain timed out");
    for (auto& link : links_) link.state.drainAcked();
    maybeFinishDrain();
  });
  maybeFinishDrain();
}

void WorkerCore::checkRegistered() {
  for (const auto& link : links_) {
    if (!link.state.everRegistered()) return;
  }
  if (on_registered_) {
    auto fn = std::move(on_registered_);
    on_registered_ = nullptr;
    fn();
  }
}

void WorkerCore::maybeFinishDrain() {
  if (!draining_ || drained_ || stats_.inflight > 0) return;
  for (const auto& link : links_) {
    if (!link.state.drainSettled()) return;
  }
  drained_ = true;
  drain_timer_.cancel();
  for (size_t i = 0; i < links_.size(); ++i) {
    if (links_[i].socket) sendControl(i, Kind::kBye);
  }
  spdlog::info("worker {} drained after {} request(s); bye", options_.name, stats_.handled);
  if (on_drained_) {
    // Not from inside a call's finish path: on the next round.
    loop_.post([fn = on_drained_] { fn(); });
  }
}

}  // namespace sb
