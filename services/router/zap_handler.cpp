#include "zap_handler.h"

#include <zmq.h>

#include <spdlog/spdlog.h>

#include "sb/auth/curve_keys.h"

namespace sb::router {

namespace {

constexpr Millis kLogEvery{60000};
constexpr size_t kMaxLogged = 10000;

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, EventLoop& loop,
                       std::shared_ptr<const auth::CurvePeers> peers)
    : loop_(loop), socket_(context, zmq::socket_type::rep), peers_(std::move(peers)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  watch_ = loop_.addSocket(socket_, [this] { onRequest(); });
}

void ZapHandler::onRequest() {
  for (int i = 0; i < 256; ++i) {
    std::vector<zmq::message_t> parts;
    while (true) {
      zmq::message_t m;
      if (!socket_.recv(m, zmq::recv_flags::dontwait)) break;
      bool more = m.more();
      if (parts.size() < 16) parts.push_back(std::move(m));
      if (!more) break;
    }
    if (parts.empty()) return;
    // version, request id, domain, address, routing id, mechanism, credentials...
    auto text = [&](size_t k) { return k < parts.size() ? parts[k].to_string() : std::string(); };
    std::string request_id = text(1), domain = text(2), address = text(3), mechanism = text(5);
    std::string key = parts.size() > 6 ? auth::curveKeyText(parts[6].to_string_view()) : "";
    const char* status = "400";
    std::string why, user;
    if (text(0) != "1.0") {
      why = "not ZAP 1.0";
    } else if (mechanism != "CURVE" || key.empty()) {
      why = "not CURVE";
    } else if (domain != kClients && domain != kWorkers) {
      why = "unknown domain '" + domain + "'";
    } else {
      auto role = domain == kClients ? auth::PeerRole::kClient : auth::PeerRole::kWorker;
      if (peers_->find(role, key)) {
        status = "200";
        user = key;
      } else {
        why = std::string("its key is not in the peer list's ") +
              (role == auth::PeerRole::kClient ? "[[client]]" : "[[worker]]") + " entries";
      }
    }
    if (user.empty()) {
      ++refused_;
      logRefusal(domain, address, key, why);
    } else {
      ++allowed_;
    }
    std::string reason = user.empty() ? why : "OK";
    socket_.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string_view(status)), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(reason), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(user), zmq::send_flags::sndmore);
    socket_.send(zmq::message_t(), zmq::send_flags::none);
  }
}

void ZapHandler::logRefusal(const std::string& domain, const std::string& address,
                            const std::string& key, const std::string& why) {
  std::string id = domain + "|" + address + "|" + key;
  TimePoint now = loop_.now();
  auto it = logged_.find(id);
  if (it != logged_.end() && now - it->second.at < kLogEvery) {
    ++it->second.unlogged;
    return;
  }
  uint64_t unlogged = it == logged_.end() ? 0 : it->second.unlogged;
  if (logged_.size() >= kMaxLogged) logged_.clear();  // (a flood of new keys: start over)
  logged_[id] = Logged{now, 0};
  spdlog::warn(
      "refused a {} connection from {} with key {}: {}{}", domain == kWorkers ? "worker" : "client",
      address, key.empty() ? "(none)" : auth::curveFingerprint(key), why,
      unlogged ? " (" + std::to_string(unlogged) + " more tries since the last line)" : "");
}

std::string peerKey(const zmq::message_t& frame) {
  const char* user = zmq_msg_gets(frame.handle(), "User-Id");
  return user ? user : "";
}

}  // namespace sb::router
