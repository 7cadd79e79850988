#include "router_sim.h"

#include <atomic>

#include "sb/core/frames.h"
#include "sb/core/json_body.h"

namespace sb::test {

using namespace std::chrono_literals;
using proto::Header;
using proto::Kind;

RawPeer::RawPeer(zmq::context_t& ctx, const std::string& endpoint, bool worker)
    : socket_(ctx, zmq::socket_type::dealer), worker_(worker) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(endpoint);
}

void RawPeer::sendFrames(const std::vector<std::string>& frames) {
  std::vector<zmq::message_t> parts;
  for (const auto& f : frames) parts.push_back(frame(f));
  sendMessage(socket_, parts.data(), parts.size());
}

void RawPeer::request(uint64_t id, const std::string& svc, const std::string& op,
                      const std::string& body, uint64_t dl, bool idempotent,
                      const std::string& to) {
  Header h;
  h.kind = Kind::kRequest;
  h.id = id;
  h.service = svc;
  h.op = op;
  h.deadline_ms = dl;
  h.idempotent = idempotent;
  h.target = to;
  sendFrames({proto::encodeHeader(h), body});
}

void RawPeer::cancel(uint64_t id) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = id;
  sendFrames({proto::encodeHeader(h), ""});
}

void RawPeer::ready(const proto::Announcement& a) {
  Header h;
  h.kind = Kind::kReady;
  h.service = a.service;
  sendFrames({"", proto::encodeHeader(h), proto::encodeAnnouncement(a)});
}

void RawPeer::control(Kind kind) {
  Header h;
  h.kind = kind;
  sendFrames({"", proto::encodeHeader(h), ""});
}

void RawPeer::answer(const std::string& envelope, uint64_t id, Kind kind, proto::ErrorCode code,
                     const std::string& body) {
  Header h;
  h.kind = kind;
  h.id = id;
  h.error = code;
  if (kind == Kind::kError) h.message = "as scripted";
  sendFrames({envelope, proto::encodeHeader(h), body});
}

std::vector<Received> RawPeer::received(bool heartbeats) {
  std::vector<Received> out;
  std::vector<zmq::message_t> parts;
  while (true) {
    bool too_many = false;
    size_t n = recvMessage(socket_, parts, 4, too_many);
    if (n == 0) return out;
    size_t h_at = worker_ ? 1 : 0;
    if (n != h_at + 2) continue;
    Header h;
    if (!proto::decodeHeader(view(parts[h_at]), {}, h).ok()) continue;
    if (h.kind == Kind::kHeartbeat && !heartbeats) continue;
    Received r;
    r.kind = h.kind;
    r.id = h.id;
    r.code = h.error;
    r.message = std::string(h.message);
    r.deadline_ms = h.deadline_ms;
    if (worker_) r.envelope = std::string(view(parts[0]));
    r.body = std::string(view(parts[h_at + 1]));
    out.push_back(std::move(r));
  }
}

void RouterSim::startRouter() {
  static std::atomic<int> n{0};
  int k = ++n;
  options_.clients = "inproc://sim-clients-" + std::to_string(k);
  options_.workers = "inproc://sim-workers-" + std::to_string(k);
  configure(options_);
  router_ = std::make_unique<router::Router>(ctx_, loop_, options_);
  admin_ = client();
}

void RouterSim::settle() {
  for (int i = 0; i < 16; ++i) loop_.runOnce(0ms);
}

void RouterSim::advance(SteadyClock::duration d, const std::vector<RawPeer*>& alive) {
  // In small steps, so messages sent at one step arrive before the next.
  SteadyClock::duration since_beat{};
  for (auto left = d; left > SteadyClock::duration::zero(); left -= 10ms) {
    auto step = std::min<SteadyClock::duration>(left, 10ms);
    loop_.advance(step);
    since_beat += step;
    if (since_beat >= 100ms) {
      for (RawPeer* p : alive) p->control(proto::Kind::kHeartbeat);
      since_beat = {};
    }
    settle();
  }
}

std::unique_ptr<RawPeer> RouterSim::client() {
  return std::make_unique<RawPeer>(ctx_, options_.clients, false);
}

std::unique_ptr<RawPeer> RouterSim::rawWorker() {
  return std::make_unique<RawPeer>(ctx_, options_.workers, true);
}

Worker& RouterSim::worker(const std::string& name, const std::string& service, uint32_t capacity,
                          const std::function<void(Worker&)>& setup) {
  WorkerOptions o;
  o.routers = {options_.workers};
  o.service = service;
  o.name = name;
  o.capacity = capacity;
  workers_.push_back(std::make_unique<Worker>(ctx_, loop_, o));
  Worker& w = *workers_.back();
  setup(w);
  w.start();
  settle();
  EXPECT_TRUE(registered(name));
  return w;
}

nlohmann::json RouterSim::status() {
  uint64_t id = ++admin_ids_;
  admin_->request(id, "router", "status");
  settle();
  for (const auto& r : admin_->received()) {
    if (r.id == id && r.kind == Kind::kReply) return unpackJsonValue(r.body);
  }
  ADD_FAILURE() << "router.status did not answer";
  return {};
}

bool RouterSim::registered(const std::string& name) {
  nlohmann::json s = status();
  for (const auto& w : s["workers"]) {
    if (w["name"] == name) return true;
  }
  return false;
}

}  // namespace sb::test
