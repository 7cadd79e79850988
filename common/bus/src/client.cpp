#include "sb/bus/client.h"

#include "sb/core/frames.h"
#include "sb/proto/header_codec.h"

namespace sb {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

Client::Client(zmq::context_t& context, const std::string& router, proto::Limits limits)
    : socket_(context, zmq::socket_type::dealer), limits_(limits) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 100000);
  socket_.set(zmq::sockopt::rcvhwm, 100000);
  socket_.connect(router);
}

uint64_t Client::send(std::string_view service, std::string_view op, std::string_view body,
                      const CallOptions& options) {
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
  // A DEALER with no connected peer queues up to its HWM; blocking here would hang a caller
  // whose router is gone, so a full queue surfaces as the call's local deadline instead.
  sendMessage(socket_, parts);
  return h.id;
}

void Client::cancel(uint64_t id) {
  Header h;
  h.kind = Kind::kCancel;
  h.id = id;
  header_buf_.clear();
  proto::encodeHeaderInto(h, header_buf_);
  zmq::message_t parts[2] = {frame(header_buf_), zmq::message_t()};
  sendMessage(socket_, parts);
}

std::optional<Incoming> Client::next(Millis timeout) {
  TimePoint until = SteadyClock::now() + timeout;
  while (true) {
    bool too_many = false;
    size_t n = recvMessage(socket_, parts_, 4, too_many);
    if (n == 0) {
      auto left = std::chrono::ceil<Millis>(until - SteadyClock::now());
      if (left.count() <= 0) return std::nullopt;
      zmq_pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq_poll(&item, 1, static_cast<long>(left.count()));
      continue;
    }
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
    return in;
  }
}

CallResult Client::call(std::string_view service, std::string_view op, std::string_view body,
                        const CallOptions& options,
                        const std::function<void(const Incoming&)>& on_chunk, Millis grace) {
  CallResult result;
  uint64_t id = send(service, op, body, options);
  TimePoint give_up = SteadyClock::now() + options.deadline + grace;
  while (true) {
    auto left = std::chrono::ceil<Millis>(give_up - SteadyClock::now());
    if (left.count() <= 0) {
      cancel(id);
      result.status = proto::Status::error(ErrorCode::kDeadlineExceeded,
                                           "no answer from the router before the deadline");
      return result;
    }
    auto in = next(left);
    if (!in || in->id != id) continue;
    if (in->kind == Kind::kChunk) {
      if (on_chunk) on_chunk(*in);
      result.chunks.push_back(std::move(in->body));
    } else if (in->kind == Kind::kReply) {
      result.body = std::move(in->body);
      return result;
    } else if (in->kind == Kind::kError) {
      result.status = proto::Status::error(in->code, in->message);
      return result;
    }
  }
}

}  // namespace sb
