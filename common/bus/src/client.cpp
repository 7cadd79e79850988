#include "sb/bus/client.h"

#include "client_frames.h"

namespace sb {

using proto::ErrorCode;
using proto::Kind;

Client::Client(zmq::context_t& context, const std::string& router, proto::Limits limits,
               const CurveClientKeys& curve)
    : socket_(client_frames::routerSocket(context, curve)), limits_(limits) {
  socket_.connect(router);
}

uint64_t Client::send(std::string_view service, std::string_view op, std::string_view body,
                      const CallOptions& options) {
  uint64_t id = next_id_++;
  client_frames::sendRequest(socket_, header_buf_, id, service, op, body, options);
  return id;
}

void Client::cancel(uint64_t id) { client_frames::sendCancel(socket_, header_buf_, id); }

std::optional<Incoming> Client::next(Millis timeout) {
  TimePoint until = SteadyClock::now() + timeout;
  while (true) {
    if (auto in = client_frames::receive(socket_, parts_, limits_)) return in;
    auto left = std::chrono::ceil<Millis>(until - SteadyClock::now());
    if (left.count() <= 0) return std::nullopt;
    zmq_pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, static_cast<long>(left.count()));
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
