#include "sb/bus/worker.h"

#include <unistd.h>

#include <random>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "sb/core/config.h"
#include "sb/core/frames.h"
#include "sb/core/signals.h"
#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

namespace sb {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

class WorkerCore : public std::enable_shared_from_this<WorkerCore> {
 public:
  WorkerCore(zmq::context_t& context, EventLoop& loop, WorkerOptions options)
      : context_(context), loop_(loop), options_(std::move(options)) {
    if (options_.name.empty()) options_.name = defaultWorkerName(options_.service);
    if (options_.capacity == 0) options_.capacity = 1;
  }

  void start() {
    for (const auto& ep : options_.routers) {
      Link link;
      link.endpoint = ep;
      link.backoff = options_.reconnect_min;
      links_.push_back(std::move(link));
    }
    for (size_t i = 0; i < links_.size(); ++i) connect(i);
    heartbeat_timer_ = loop_.every(options_.heartbeat, [this] { tick(); });
    spdlog::info("worker {} serving '{}' capacity {} weight {}{} on {} router(s)", options_.name,
                 options_.service, options_.capacity, options_.weight,
                 options_.backup ? " (backup)" : "", links_.size());
  }

  void drain() {
    if (draining_) return;
    draining_ = true;
    spdlog::info("worker {} draining: {} request(s) in flight", options_.name, stats_.inflight);
    for (size_t i = 0; i < links_.size(); ++i) {
      Link& link = links_[i];
      if (link.socket && link.heard) {
        sendControl(i, Kind::kDrain);
        link.drain_acked = false;
      } else {
        link.drain_acked = true;  // nobody there to send us more work
      }
    }
    drain_timer_ = loop_.after(options_.drain_timeout, [this] {
      spdlog::warn("worker {} drain timeout: failing {} request(s)", options_.name, calls_.size());
      failAll(ErrorCode::kUnavailable, "worker drain timed out");
      for (auto& link : links_) link.drain_acked = true;
      maybeFinishDrain();
    });
    maybeFinishDrain();
  }

  void finished(Call& call) {
    calls_.erase(call.key_);
    if (call.counted_) {
      --stats_.inflight;
      ++stats_.handled;
    }
    maybeFinishDrain();
  }

  void sendFrames(size_t link_idx, const zmq::message_t& envelope, const Header& h,
                  std::string_view body) {
    Link& link = links_[link_idx];
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

  const WorkerOptions& options() const { return options_; }
  WorkerStats stats_;
  std::unordered_map<std::string, Handler> handlers_;
  std::function<void()> on_drained_;
  std::function<void()> on_registered_;
  EventLoop& loop() { return loop_; }

 private:
  struct Link {
    std::string endpoint;
    std::unique_ptr<zmq::socket_t> socket;
    TimePoint last_heard{};
    bool heard = false;
    bool ever_heard = false;
    bool drain_acked = false;
    Millis backoff{1000};
    LoopHandle watch;
    LoopHandle reconnect_timer;
  };

  void connect(size_t idx) {
    Link& link = links_[idx];
    link.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    link.socket->set(zmq::sockopt::linger, 1000);
    link.socket->set(zmq::sockopt::sndhwm, 100000);
    link.socket->set(zmq::sockopt::rcvhwm, 100000);
    // libzmq's own TCP reconnect uses the same backoff as our liveness-driven reconnects.
    link.socket->set(zmq::sockopt::reconnect_ivl, static_cast<int>(options_.reconnect_min.count()));
    link.socket->set(zmq::sockopt::reconnect_ivl_max,
                     static_cast<int>(options_.reconnect_max.count()));
    link.socket->connect(link.endpoint);
    link.watch = loop_.addSocket(*link.socket, [this, idx] { onReadable(idx); });
    link.last_heard = loop_.now();  // grace: the router has liveness intervals to answer
    link.heard = false;
    announce(idx);
  }

  void announce(size_t idx) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(8);
    pk.pack("name"), pk.pack(options_.name);
    pk.pack("svc"), pk.pack(options_.service);
    pk.pack("models"), pk.pack(options_.models);
    pk.pack("cap"), pk.pack(options_.capacity);
    pk.pack("w"), pk.pack(options_.weight);
    pk.pack("backup"), pk.pack(options_.backup);
    pk.pack("hb"), pk.pack(static_cast<uint64_t>(options_.heartbeat.count()));
    pk.pack("liveness"), pk.pack(options_.liveness);
    Header h;
    h.kind = Kind::kReady;
    h.service = options_.service;
    sendFrames(idx, zmq::message_t(), h, std::string_view(buf.data(), buf.size()));
  }

  void sendControl(size_t idx, Kind kind) {
    Header h;
    h.kind = kind;
    sendFrames(idx, zmq::message_t(), h, {});
  }

  void tick() {
    TimePoint now = loop_.now();
    auto lost_after = options_.heartbeat * options_.liveness;
    for (size_t i = 0; i < links_.size(); ++i) {
      Link& link = links_[i];
      if (!link.socket) continue;
      if (now - link.last_heard > lost_after) {
        lost(i);
        continue;
      }
      sendControl(i, Kind::kHeartbeat);
    }
  }

  // Cancels, locally and silently, every call that came over this link: the router has failed
  // them already, so their answers would go nowhere and their slots must not count.
  void dropCalls(size_t idx) {
    std::vector<Call*> orphans;
    for (auto& [key, call] : calls_) {
      if (call->link_ == idx) orphans.push_back(call);
    }
    for (Call* c : orphans) c->cancelByPeer(false);
  }

  // The router went silent: its requests cannot be answered any more (it has failed them),
  // so cancel them locally, drop the socket and come back after a backoff.
  void lost(size_t idx) {
    Link& link = links_[idx];
    spdlog::warn("worker {}: router {} silent for {} heartbeats; reconnecting in {} ms",
                 options_.name, link.endpoint, options_.liveness, link.backoff.count());
    dropCalls(idx);
    link.watch.cancel();
    link.socket.reset();
    link.heard = false;
    if (draining_) {
      link.drain_acked = true;
      maybeFinishDrain();
      return;
    }
    link.reconnect_timer = loop_.after(link.backoff, [this, idx] { connect(idx); });
    link.backoff = std::min(link.backoff * 2, options_.reconnect_max);
  }

  void onReadable(size_t idx) {
    for (int budget = 0; budget < 256; ++budget) {
      Link& link = links_[idx];
      if (!link.socket) return;
      bool too_many = false;
      size_t n = recvMessage(*link.socket, parts_, 4, too_many);
      if (n == 0) return;
      if (n == 2 && !too_many) {
        // Two frames is the client link's shape: a router frontend answering our announce
        // with an error. Not a sign of life from a backend.
        Header h;
        if (proto::decodeHeader(view(parts_[0]), options_.limits, h).ok() &&
            h.kind == Kind::kError) {
          spdlog::error(
              "worker {}: {} answered like a router's client endpoint ({}); --router "
              "must name the router's backend",
              options_.name, link.endpoint, h.message);
        }
        continue;
      }
      if (n != 3 || too_many) {
        spdlog::warn("worker {}: dropped a {}-frame message from {}", options_.name, n,
                     link.endpoint);
        continue;
      }
      link.last_heard = loop_.now();
      if (!link.heard) {
        link.heard = true;
        link.backoff = options_.reconnect_min;
        if (!link.ever_heard) {
          link.ever_heard = true;
          spdlog::info("worker {} registered with {}", options_.name, link.endpoint);
          checkRegistered();
        }
      }
      Header h;
      proto::Status st = proto::decodeHeader(view(parts_[1]), options_.limits, h);
      if (!st.ok()) {
        spdlog::warn("worker {}: bad header from {}: {}", options_.name, link.endpoint, st.message);
        continue;
      }
      switch (h.kind) {
        case Kind::kRequest:
          onRequest(idx);
          break;
        case Kind::kCancel:
          onCancel(idx, h.id);
          break;
        case Kind::kDrain:
          drain();
          link.drain_acked = true;
          maybeFinishDrain();
          break;
        case Kind::kBye:
          // The router does not know us (it restarted, or timed us out while we were stalled):
          // whatever it sent us before is failed on its side, so those calls must not hold
          // capacity it will count as free. Then announce again.
          spdlog::info("worker {}: router {} asked us to announce again", options_.name,
                       link.endpoint);
          dropCalls(idx);
          if (!draining_) announce(idx);
          break;
        default:
          break;  // heartbeats only refresh liveness
      }
    }
  }

  static std::string callKey(size_t link, const zmq::message_t& env, uint64_t id) {
    std::string key;
    key.reserve(1 + env.size() + 8);
    key.push_back(static_cast<char>(link));
    key.append(static_cast<const char*>(env.data()), env.size());
    key.append(reinterpret_cast<const char*>(&id), sizeof(id));
    return key;
  }

  void onRequest(size_t idx) {
    CallPtr call(new Call());
    call->core_ = weak_from_this();
    call->link_ = idx;
    call->envelope_ = std::move(parts_[0]);
    call->header_frame_ = std::move(parts_[1]);
    call->body_frame_ = std::move(parts_[2]);
    // Decode again from the frame the call owns: small frames live inside zmq_msg_t itself,
    // so views taken before the move would dangle.
    (void)proto::decodeHeader(view(call->header_frame_), options_.limits, call->header_);
    const Header& h = call->header_;
    if (h.deadline_ms > 0) call->deadline_ = loop_.now() + Millis(h.deadline_ms);
    call->key_ = callKey(idx, call->envelope_, h.id);
    call->counted_ = false;
    if (calls_.count(call->key_)) {
      ++stats_.rejected;
      call->key_.clear();  // the running call owns that key
      call->fail(ErrorCode::kInvalidArgument, "request id already in flight");
      return;
    }
    calls_[call->key_] = call.get();
    if (h.op == "worker.ping" || h.op == "worker.stats") {
      builtin(call);
      return;
    }
    if (call->body_frame_.size() > options_.limits.max_body_bytes) {
      ++stats_.rejected;
      call->fail(ErrorCode::kResourceExhausted, "request body larger than the worker's limit");
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
    it->second(call);
  }

  void builtin(const CallPtr& call) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    if (call->op() == "worker.ping") {
      pk.pack_map(2);
      pk.pack("name"), pk.pack(options_.name);
      pk.pack("svc"), pk.pack(options_.service);
    } else {
      pk.pack_map(10);
      pk.pack("name"), pk.pack(options_.name);
      pk.pack("svc"), pk.pack(options_.service);
      pk.pack("capacity"), pk.pack(options_.capacity);
      pk.pack("inflight"), pk.pack(stats_.inflight);
      pk.pack("peak_inflight"), pk.pack(stats_.peak_inflight);
      pk.pack("handled"), pk.pack(stats_.handled);
      pk.pack("cancelled"), pk.pack(stats_.cancelled);
      pk.pack("rejected"), pk.pack(stats_.rejected);
      pk.pack("draining"), pk.pack(draining_);
      pk.pack("pid"), pk.pack(static_cast<int64_t>(getpid()));
    }
    call->reply(std::string_view(buf.data(), buf.size()));
  }

  void onCancel(size_t idx, uint64_t id) {
    auto it = calls_.find(callKey(idx, parts_[0], id));
    if (it == calls_.end()) return;  // already finished: our final frame crossed the cancel
    it->second->cancelByPeer(true);
  }

  void failAll(ErrorCode code, const std::string& message) {
    std::vector<Call*> all;
    for (auto& [key, call] : calls_) all.push_back(call);
    for (Call* c : all) {
      auto fn = std::move(c->on_cancel_);
      c->fail(code, message);
      c->cancelled_ = true;
      if (fn) fn();
    }
  }

  void checkRegistered() {
    for (const auto& link : links_) {
      if (!link.ever_heard) return;
    }
    if (on_registered_) {
      auto fn = std::move(on_registered_);
      on_registered_ = nullptr;
      fn();
    }
  }

  void maybeFinishDrain() {
    if (!draining_ || drained_ || stats_.inflight > 0) return;
    for (const auto& link : links_) {
      if (!link.drain_acked) return;
    }
    drained_ = true;
    drain_timer_.cancel();
    for (size_t i = 0; i < links_.size(); ++i) {
      if (links_[i].socket) sendControl(i, Kind::kBye);
    }
    spdlog::info("worker {} drained after {} request(s); bye", options_.name, stats_.handled);
    if (on_drained_) {
      // Not from inside a call's finish path: defer to the loop.
      loop_.post([fn = on_drained_] { fn(); });
    }
  }

  zmq::context_t& context_;
  EventLoop& loop_;
  WorkerOptions options_;
  std::vector<Link> links_;
  std::unordered_map<std::string, Call*> calls_;
  std::vector<zmq::message_t> parts_;
  std::string header_buf_;
  LoopHandle heartbeat_timer_;
  LoopHandle drain_timer_;
  bool draining_ = false;
  bool drained_ = false;
};

// ---- Call ----

Call::~Call() {
  if (!done_) fail(ErrorCode::kInternal, "the handler finished without replying");
}

std::string_view Call::body() const { return view(body_frame_); }

proto::Status Call::decodeBody(msgpack::object_handle& out) const {
  auto core = core_.lock();
  proto::Limits limits = core ? core->options().limits : proto::Limits{};
  return proto::decodeBody(body(), limits, out);
}

void Call::chunk(std::string_view body) { send(Kind::kChunk, body, ErrorCode::kOk, {}); }
void Call::reply(std::string_view body) { send(Kind::kReply, body, ErrorCode::kOk, {}); }
void Call::fail(ErrorCode code, std::string_view message) { send(Kind::kError, {}, code, message); }

void Call::send(Kind kind, std::string_view body, ErrorCode code, std::string_view msg) {
  if (done_) return;
  auto core = core_.lock();
  if (!core) {
    done_ = true;
    return;
  }
  Header h;
  h.kind = kind;
  h.id = header_.id;
  if (kind == Kind::kChunk) h.seq = ++seq_;
  if (kind == Kind::kError) {
    h.error = code;
    h.message = msg;
  }
  core->sendFrames(link_, envelope_, h, body);
  if (proto::isFinal(kind)) {
    done_ = true;
    core->finished(*this);
  }
}

void Call::cancelByPeer(bool notify_router) {
  if (done_) return;
  auto core = core_.lock();
  if (core) ++core->stats_.cancelled;
  auto fn = std::move(on_cancel_);
  if (notify_router) {
    // The final frame releases the router's slot for this request.
    fail(ErrorCode::kCancelled, "cancelled");
  } else {
    done_ = true;
    if (core) core->finished(*this);
  }
  cancelled_ = true;
  if (fn) fn();
}

// ---- Worker ----

Worker::Worker(zmq::context_t& context, EventLoop& loop, WorkerOptions options)
    : core_(std::make_shared<WorkerCore>(context, loop, std::move(options))) {}

Worker::~Worker() = default;

void Worker::handle(std::string op, Handler handler) {
  core_->handlers_[std::move(op)] = std::move(handler);
}
void Worker::start() { core_->start(); }
void Worker::drain() { core_->drain(); }
void Worker::onDrained(std::function<void()> fn) { core_->on_drained_ = std::move(fn); }
void Worker::onRegistered(std::function<void()> fn) { core_->on_registered_ = std::move(fn); }
const std::string& Worker::name() const { return core_->options().name; }
WorkerStats Worker::stats() const { return core_->stats_; }
EventLoop& Worker::loop() { return core_->loop(); }

std::string defaultWorkerName(std::string_view service) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[8];
  snprintf(suffix, sizeof(suffix), "%04x", static_cast<unsigned>(rd() & 0xFFFF));
  return std::string(service) + "-" + host + "-" + std::to_string(getpid()) + "-" + suffix;
}

int runWorker(Worker& worker, int& ready_fd) {
  EventLoop& loop = worker.loop();
  int exit_code = 0;
  int signals_seen = 0;
  auto signals = onTerminationSignal(loop, [&](int signo) {
    if (++signals_seen == 1) {
      spdlog::info("signal {}: draining (send again to stop at once)", signo);
      worker.drain();
    } else {
      exit_code = 1;
      loop.stop();
    }
  });
  worker.onRegistered([&] { notifyReady(ready_fd, worker.name()); });
  worker.onDrained([&] { loop.stop(); });
  worker.start();
  loop.run();
  return exit_code;
}

}  // namespace sb
