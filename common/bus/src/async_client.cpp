#include "sb/bus/async_client.h"

#include "sb/core/frames.h"
#include "sb/proto/header_codec.h"

namespace sb {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

AsyncClient::AsyncClient(zmq::context_t& context, EventLoop& loop, const std::string& router,
                         proto::Limits limits, Millis grace)
    : loop_(loop), socket_(context, zmq::socket_type::dealer), limits_(limits), grace_(grace) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 100000);
  socket_.set(zmq::sockopt::rcvhwm, 100000);
  socket_.connect(router);
  watch_ = loop_.addSocket(socket_, [this] { onReadable(); });
}

AsyncClient::~AsyncClient() {
  // The router fails what we leave behind once our connection closes; no callback runs.
  watch_.cancel();
  calls_.clear();
}

uint64_t AsyncClient::send(std::string_view service, std::string_view op, std::string_view body,
                           const CallOptions& options, OnFrame on_frame) {
  Header h;
  h.kind = Kind::kRequest;
  h.id = next_id_++;
  h.service = service;
  h.op = op;
  h.model = options.model;
  h.target = options.target;
  h.deadline_ms = static_cast<uint64_t>(options.deadline.count());
  h.idempotent = options.idempotent;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[2] = {frame(header_buf_), frame(body)};
  sendMessage(socket_, parts);
  uint64_t id = h.id;
  Pending& p = calls_[id];
  p.on_frame = std::move(on_frame);
  // The router enforces the deadline; this only ends a request whose router went silent.
  p.timeout = loop_.after(options.deadline + grace_, [this, id] {
    Incoming in;
    in.id = id;
    in.kind = Kind::kError;
    in.code = ErrorCode::kDeadlineExceeded;
    in.message = "no answer from the router before the deadline";
    deliver(in);
    sendCancel(id);  // (the router may still hold it)
  });
  return id;
}

void AsyncClient::cancel(uint64_t id) {
  if (calls_.erase(id) == 0) return;
  sendCancel(id);
}

void AsyncClient::sendCancel(uint64_t id) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = id;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[2] = {frame(header_buf_), zmq::message_t()};
  sendMessage(socket_, parts);
}

void AsyncClient::onReadable() {
  // A bounded batch per wake-up, so one busy router link cannot starve the loop's other work.
  for (int i = 0; i < 256; ++i) {
    bool too_many = false;
    size_t n = recvMessage(socket_, parts_, 4, too_many);
    if (n == 0) return;
    if (n != 2 || too_many) continue;
    Header h;
    if (!proto::decodeHeader(view(parts_[0]), limits_, h).ok()) continue;
    if (!proto::isRequestScoped(h.kind)) continue;
    Incoming in;
    in.id = h.id;
    in.kind = h.kind;
    in.code = h.kind == Kind::kError ? h.error : ErrorCode::kOk;
    in.message = std::string(h.message);
    in.body = std::string(view(parts_[1]));
    in.seq = h.seq;
    deliver(in);
  }
}

void AsyncClient::deliver(const Incoming& in) {
  auto it = calls_.find(in.id);
  if (it == calls_.end()) return;  // cancelled, or an answer after the local timeout
  if (in.kind == Kind::kChunk) {
    // A copy: the callback may cancel (erase) its own request.
    OnFrame on_frame = it->second.on_frame;
    loop_.guarded("client frame", [&] { on_frame(in); });
    return;
  }
  OnFrame on_frame = std::move(it->second.on_frame);
  calls_.erase(it);  // ended: its timeout goes with it
  loop_.guarded("client frame", [&] { on_frame(in); });
}

}  // namespace sb
