#include "handshake_watch.h"

#include <zmq.h>

#include <atomic>
#include <cstring>

#include <spdlog/spdlog.h>

#include "sb/auth/curve_keys.h"

namespace sb {

namespace {

std::string monitorEndpoint() {
  static std::atomic<uint64_t> next{0};
  return "inproc://sb-handshake-" + std::to_string(next++);
}

// Why a handshake failed, from a monitor event's value: a ZMTP protocol error code, or errno.
std::string failureReason(uint16_t event, uint32_t value) {
  return event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
             ? fmt::format("protocol error {:#x}", value)
             : std::string(zmq_strerror(static_cast<int>(value)));
}

}  // namespace

HandshakeWatch::HandshakeWatch(zmq::context_t& context, EventLoop& loop, zmq::socket_t& socket,
                               std::string endpoint, const CurveClientKeys& curve, Millis every)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      fingerprint_(curve.enabled() ? auth::curveFingerprint(curve.public_key) : ""),
      every_(every),
      monitor_(context, zmq::socket_type::pair) {
  std::string at = monitorEndpoint();
  int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(socket.handle(), at.c_str(), events) != 0) {
    spdlog::warn("cannot watch the handshakes with {}: {}", endpoint_, zmq_strerror(errno));
    return;
  }
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(at);
  watch_ = loop_.addSocket(monitor_, [this] { onEvent(); });
}

void HandshakeWatch::onEvent() {
  for (int i = 0; i < 64; ++i) {
    zmq::message_t head, address;
    if (!monitor_.recv(head, zmq::recv_flags::dontwait)) return;
    if (head.more()) (void)monitor_.recv(address, zmq::recv_flags::dontwait);
    if (head.size() < 6) continue;
    uint16_t event = 0;
    uint32_t value = 0;
    std::memcpy(&event, head.data(), 2);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    report(event, value);
  }
}

void HandshakeWatch::report(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
    if (failures_ > 0) {
      spdlog::info("handshake with router {} succeeded after {} failure(s)", endpoint_, failures_);
    }
    failures_ = unlogged_ = 0;
    logged_once_ = false;
    return;
  }
  ++failures_;
  TimePoint now = loop_.now();
  if (logged_once_ && now - last_log_ < every_) {
    ++unlogged_;
    return;
  }
  std::string also = unlogged_ ? " (" + std::to_string(unlogged_) + " more since the last)" : "";
  bool plain = fingerprint_.empty();
  if (plain && event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
      value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    spdlog::error(
        "router {} asks for CURVE and this process has no keys: give it --curve-secret and "
        "--curve-router-key (docs/SECURITY.md){}",
        endpoint_, also);
  } else if (plain) {
    // (A router that asks for CURVE may also just close on us: the same hint. A warning: a
    // router restarting mid-handshake looks the same.)
    spdlog::warn(
        "handshake with router {} failed ({}): if that router asks for CURVE, give this "
        "process --curve-secret and --curve-router-key (docs/SECURITY.md){}",
        endpoint_, failureReason(event, value), also);
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    spdlog::error(
        "router {} refused our CURVE key {} (ZAP status {}): it is not in that router's "
        "allow-list for this role{}",
        endpoint_, fingerprint_, value, also);
  } else {
    spdlog::error(
        "CURVE handshake with router {} failed ({}): is --curve-router-key that router's public "
        "key, and does it run with CURVE?{}",
        endpoint_, failureReason(event, value), also);
  }
  last_log_ = now;
  logged_once_ = true;
  unlogged_ = 0;
}

}  // namespace sb
