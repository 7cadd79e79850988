#include "sb/bus/async_client.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "client_frames.h"
#include "handshake_watch.h"

namespace sb {

using proto::ErrorCode;
using proto::Kind;

namespace {

RouterPool::Options poolOptions(const AsyncClientOptions& o) {
  RouterPool::Options p;
  p.heartbeat = o.heartbeat;
  p.liveness = o.liveness;
  return p;
}

}  // namespace

AsyncClient::AsyncClient(zmq::context_t& context, EventLoop& loop,
                         const std::vector<std::string>& routers, const AsyncClientOptions& options)
    : loop_(loop), options_(options), pool_(routers.size(), poolOptions(options), loop.now()) {
  if (routers.empty()) throw std::invalid_argument("a client needs at least one router");
  for (size_t i = 0; i < routers.size(); ++i) {
    auto link = std::make_unique<Link>();
    link->endpoint = routers[i];
    link->socket = client_frames::routerSocket(context, options_.curve);
    // (Watched before it connects: a refused first handshake is over in a moment.)
    link->handshake =
        std::make_unique<HandshakeWatch>(context, loop_, link->socket, routers[i], options_.curve);
    link->socket.connect(routers[i]);
    link->watch = loop_.addSocket(link->socket, [this, i] { onReadable(i); });
    // The first heartbeat asks each router at once whether it takes requests.
    client_frames::sendControl(link->socket, header_buf_, Kind::kHeartbeat);
    links_.push_back(std::move(link));
  }
  inflight_scratch_.resize(links_.size());
  heartbeat_ = loop_.every(options_.heartbeat, [this] { tick(); });
}

AsyncClient::~AsyncClient() {
  // The routers fail what we leave behind once our connections close; no callback runs.
  heartbeat_.cancel();
  for (auto& link : links_) link->watch.cancel();
  calls_.clear();
}

uint64_t AsyncClient::send(std::string_view service, std::string_view op, std::string_view body,
                           const CallOptions& options, OnFrame on_frame) {
  uint64_t id = next_id_++;
  Pending& p = calls_[id];
  p.on_frame = std::make_shared<OnFrame>(std::move(on_frame));
  p.service = std::string(service);
  p.op = std::string(op);
  p.body = std::string(body);
  p.options = options;
  // The router enforces the deadline; this ends a request whose router went silent, or that
  // waited here for a live router in vain.
  p.timeout = loop_.after(options.deadline + options_.grace, [this, id] {
    fail(id, ErrorCode::kDeadlineExceeded, "no answer from a router before the deadline");
  });
  route(id, p);
  return id;
}

void AsyncClient::route(uint64_t id, Pending& p) {
  for (size_t i = 0; i < links_.size(); ++i) inflight_scratch_[i] = links_[i]->inflight;
  std::optional<size_t> to = pool_.choose(inflight_scratch_);
  if (!to && p.service == "router") {
    // Operations on a router itself (status, drain) are answered while it drains.
    for (size_t i = 0; i < links_.size() && !to; ++i) {
      if (pool_.state(i) != RouterPool::State::kSilent) to = i;
    }
  }
  if (!to) {
    p.router = kNowhere;
    waiting_.push_back(id);
    return;
  }
  p.router = *to;
  ++links_[*to]->inflight;
  client_frames::sendRequest(links_[*to]->socket, header_buf_, id, p.service, p.op, p.body,
                             p.options);
}

void AsyncClient::cancel(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  size_t router = it->second.router;
  calls_.erase(it);
  if (router == kNowhere) return;  // (its entry in waiting_ is skipped when flushed)
  --links_[router]->inflight;
  client_frames::sendCancel(links_[router]->socket, header_buf_, id);
}

void AsyncClient::onReadable(size_t link) {
  // A bounded batch per wake-up, so one busy router link cannot starve the loop's other work.
  for (int i = 0; i < 256; ++i) {
    std::optional<Incoming> in =
        client_frames::receive(links_[link]->socket, parts_, options_.limits, true);
    if (!in) return;
    if (in->kind == Kind::kHeartbeat || in->kind == Kind::kDrain) {
      onControl(link, *in);
      continue;
    }
    bool was_live = pool_.anyLive();
    pool_.heard(link, loop_.now());
    if (!was_live) flushWaiting();
    auto it = calls_.find(in->id);
    if (it == calls_.end() || it->second.router != link) continue;  // cancelled, timed out
    deliver(*in);
  }
}

void AsyncClient::onControl(size_t link, const Incoming& in) {
  if (in.kind == Kind::kHeartbeat) {
    RouterPool::State before = pool_.state(link);
    pool_.heartbeat(link, loop_.now());
    if (before != RouterPool::State::kLive) {
      // (Debug the first time: every client start would log it.)
      spdlog::log(
          before == RouterPool::State::kConnecting ? spdlog::level::debug : spdlog::level::info,
          "router {} is live", links_[link]->endpoint);
      flushWaiting();
    }
    return;
  }
  if (pool_.state(link) != RouterPool::State::kDraining) {
    spdlog::info("router {} is draining; new requests go elsewhere", links_[link]->endpoint);
  }
  pool_.drain(link, loop_.now());
  if (in.id == 0) {
    // Acknowledged: what we sent this router before now is all it will get from us.
    client_frames::sendControl(links_[link]->socket, header_buf_, Kind::kDrain);
    return;
  }
  // The router refused this request without starting it: send it to another.
  auto it = calls_.find(in.id);
  if (it == calls_.end() || it->second.router != link || it->second.answered) return;
  --links_[link]->inflight;
  route(in.id, it->second);
}

void AsyncClient::tick() {
  for (auto& link : links_) {
    client_frames::sendControl(link->socket, header_buf_, Kind::kHeartbeat);
  }
  for (size_t i : pool_.checkSilence(loop_.now())) routerLost(i);
}

void AsyncClient::routerLost(size_t link) {
  spdlog::warn("router {} is silent; its requests end or go elsewhere", links_[link]->endpoint);
  // Ids first: ending one request runs a callback that may send or cancel others.
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : calls_) {
    if (p.router == link) ids.push_back(id);
  }
  for (uint64_t id : ids) {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.router != link) continue;
    Pending& p = it->second;
    --links_[link]->inflight;
    if (!p.answered && p.options.idempotent) {
      route(id, p);
      continue;
    }
    p.router = kNowhere;  // nothing to cancel there
    fail(id, ErrorCode::kUnavailable,
         "router " + links_[link]->endpoint + " went silent with the request in flight");
  }
}

void AsyncClient::flushWaiting() {
  std::vector<uint64_t> ids;
  ids.swap(waiting_);
  for (uint64_t id : ids) {
    auto it = calls_.find(id);
    if (it != calls_.end() && it->second.router == kNowhere) route(id, it->second);
  }
}

void AsyncClient::fail(uint64_t id, ErrorCode code, const std::string& message) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  size_t router = it->second.router;
  Incoming in;
  in.id = id;
  in.kind = Kind::kError;
  in.code = code;
  in.message = message;
  deliver(in);
  // (The router may still hold it.)
  if (router != kNowhere) client_frames::sendCancel(links_[router]->socket, header_buf_, id);
}

void AsyncClient::deliver(const Incoming& in) {
  auto it = calls_.find(in.id);
  if (it == calls_.end()) return;
  Pending& p = it->second;
  if (!p.answered) {
    p.answered = true;
    p.body = std::string();  // never sent again: free the copy
  }
  // Held here: the callback may cancel (erase) its own request.
  std::shared_ptr<OnFrame> on_frame = p.on_frame;
  if (in.kind != Kind::kChunk) {
    if (p.router != kNowhere) --links_[p.router]->inflight;
    calls_.erase(it);  // ended: its timeout goes with it
  }
  loop_.guarded("client frame", [&] { (*on_frame)(in); });
}

}  // namespace sb
