// The router's side of the client link beyond requests (PROTOCOL.md 4.5): client heartbeats,
// and draining the router itself.
#include <spdlog/spdlog.h>

#include "router.h"
#include "sb/core/frames.h"
#include "sb/proto/header_codec.h"

namespace sb::router {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

namespace {

// A client silent this long is forgotten (it heartbeats every second or so).
constexpr Millis kClientMemory{30000};
// Clients heard this recently are live: a drain waits for their acknowledgement...
constexpr Millis kClientLive{3500};
// ...for at most this long (a client may die meanwhile).
constexpr Millis kAckWait{5000};
// Bound on the clients remembered: a peer must not grow the router's memory without limit.
constexpr size_t kMaxClients = 100000;

}  // namespace

void Router::handleClientHeartbeat(std::string_view client) {
  auto it = clients_heard_.find(std::string(client));
  if (it != clients_heard_.end()) {
    it->second = loop_.now();
  } else if (clients_heard_.size() < kMaxClients) {
    clients_heard_.emplace(std::string(client), loop_.now());
  }
  sendClientControl(client, draining_ ? Kind::kDrain : Kind::kHeartbeat, 0);
}

void Router::handleClientDrainAck(std::string_view client) {
  if (draining_) drain_unacked_.erase(std::string(client));
}

bool Router::sendElsewhere(std::string_view client, uint64_t id) {
  ++counters_.sent_elsewhere;
  if (clients_heard_.count(std::string(client)) != 0) {
    sendClientControl(client, Kind::kDrain, id);  // not started: the client sends it elsewhere
    return true;
  }
  ++counters_.unavailable;
  replyError(client, id, ErrorCode::kUnavailable,
             "this router is draining and takes no new requests; send it to another router");
  return true;
}

bool Router::sendClientControl(std::string_view client, Kind kind, uint64_t id) {
  Header h;
  h.kind = kind;
  h.id = id;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[3] = {frame(client), frame(header_buf_), zmq::message_t()};
  return toClient(parts, 3);
}

void Router::drain(Millis timeout, std::function<void()> on_drained) {
  if (draining_) return;
  draining_ = true;
  // The last answers go out just before the process exits: they must not be dropped with the
  // sockets (linger 0 otherwise), or their clients wait for them until their deadlines.
  clients_.set(zmq::sockopt::linger, 2000);
  workers_.set(zmq::sockopt::linger, 2000);
  TimePoint now = loop_.now();
  drain_started_ = now;
  drain_deadline_ = now + timeout;
  on_drained_ = std::move(on_drained);
  for (const auto& [client, heard] : clients_heard_) {
    // (A client whose connection closed is unroutable: nothing to wait for.)
    if (now - heard > kClientLive || !sendClientControl(client, Kind::kDrain, 0)) continue;
    drain_unacked_.insert(client);
  }
  spdlog::info("draining: {} request(s) in flight, told {} client(s) to go elsewhere",
               requests_.size(), drain_unacked_.size());
  checkDrained();
}

void Router::checkDrained() {
  if (!on_drained_) return;
  TimePoint now = loop_.now();
  bool late = now >= drain_deadline_;
  bool acked = drain_unacked_.empty() || now - drain_started_ >= kAckWait;
  if ((requests_.size() != 0 || !acked) && !late) return;
  if (late && requests_.size() != 0) {
    spdlog::warn("drain timeout: ending {} request(s) UNAVAILABLE", requests_.size());
    for (const std::string& key : requests_.keys()) {
      Request* r = requests_.find(key);
      if (!r) continue;
      if (!r->client_done) {
        replyError(r->client, r->id, ErrorCode::kUnavailable,
                   "the router stopped: its drain timeout passed with the request in flight");
      }
      requests_.erase(key);
    }
  } else {
    spdlog::info("drained: no request in flight");
  }
  // Run from the loop, not from inside whatever step finished the last request.
  loop_.post(std::move(on_drained_));
  on_drained_ = nullptr;
}

void Router::forgetQuietClients() {
  TimePoint now = loop_.now();
  if (now - last_client_sweep_ < kClientMemory) return;
  last_client_sweep_ = now;
  for (auto it = clients_heard_.begin(); it != clients_heard_.end();) {
    it = now - it->second > kClientMemory ? clients_heard_.erase(it) : std::next(it);
  }
}

}  // namespace sb::router
