#include "client_frames.h"

#include "sb/core/frames.h"
#include "sb/proto/header_codec.h"

namespace sb::client_frames {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

zmq::socket_t routerSocket(zmq::context_t& context, const CurveClientKeys& curve) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
  applyCurveClient(socket, curve);
  return socket;
}

void sendRequest(zmq::socket_ref socket, std::string& buf, uint64_t id, std::string_view service,
                 std::string_view op, std::string_view body, const CallOptions& options) {
  Header h;
  h.kind = Kind::kRequest;
  h.id = id;
  h.service = service;
  h.op = op;
  h.model = options.model;
  h.target = options.target;
  h.deadline_ms = static_cast<uint64_t>(options.deadline.count());
  h.idempotent = options.idempotent;
  buf.clear();
  proto::encodeHeaderInto(h, buf);
  zmq::message_t parts[2] = {frame(buf), frame(body)};
  // A DEALER with no connected peer queues up to its HWM; blocking here would hang a caller
  // whose router is gone, so a full queue surfaces as the call's deadline instead.
  sendMessage(socket, parts);
}

void sendCancel(zmq::socket_ref socket, std::string& buf, uint64_t id) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = id;
  buf.clear();
  proto::encodeHeaderInto(h, buf);
  zmq::message_t parts[2] = {frame(buf), zmq::message_t()};
  sendMessage(socket, parts);
}

void sendControl(zmq::socket_ref socket, std::string& buf, proto::Kind kind) {
  Header h;
  h.kind = kind;
  buf.clear();
  proto::encodeHeaderInto(h, buf);
  zmq::message_t parts[2] = {frame(buf), zmq::message_t()};
  sendMessage(socket, parts);
}

std::optional<Incoming> receive(zmq::socket_ref socket, std::vector<zmq::message_t>& parts,
                                const proto::Limits& limits, bool control) {
  while (true) {
    bool too_many = false;
    size_t n = recvMessage(socket, parts, 4, too_many);
    if (n == 0) return std::nullopt;
    if (n != 2 || too_many) continue;
    Header h;
    if (!proto::decodeHeader(view(parts[0]), limits, h).ok()) continue;
    bool router_level = h.kind == Kind::kHeartbeat || h.kind == Kind::kDrain;
    if (!proto::isRequestScoped(h.kind) && !(control && router_level)) continue;
    Incoming in;
    in.id = h.id;
    in.kind = h.kind;
    in.code = h.kind == Kind::kError ? h.error : ErrorCode::kOk;
    in.message = std::string(h.message);
    in.body = std::string(view(parts[1]));
    in.seq = h.seq;
    return in;
  }
}

}  // namespace sb::client_frames
