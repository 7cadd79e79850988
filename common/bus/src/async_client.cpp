#include "sb/bus/async_client.h"

#include "client_frames.h"

namespace sb {

using proto::ErrorCode;
using proto::Kind;

AsyncClient::AsyncClient(zmq::context_t& context, EventLoop& loop, const std::string& router,
                         proto::Limits limits, Millis grace)
    : loop_(loop),
      socket_(client_frames::connectToRouter(context, router)),
      limits_(limits),
      grace_(grace) {
  watch_ = loop_.addSocket(socket_, [this] { onReadable(); });
}

AsyncClient::~AsyncClient() {
  // The router fails what we leave behind once our connection closes; no callback runs.
  watch_.cancel();
  calls_.clear();
}

uint64_t AsyncClient::send(std::string_view service, std::string_view op, std::string_view body,
                           const CallOptions& options, OnFrame on_frame) {
  uint64_t id = next_id_++;
  client_frames::sendRequest(socket_, header_buf_, id, service, op, body, options);
  Pending& p = calls_[id];
  p.on_frame = std::make_shared<OnFrame>(std::move(on_frame));
  // The router enforces the deadline; this only ends a request whose router went silent.
  p.timeout = loop_.after(options.deadline + grace_, [this, id] {
    Incoming in;
    in.id = id;
    in.kind = Kind::kError;
    in.code = ErrorCode::kDeadlineExceeded;
    in.message = "no answer from the router before the deadline";
    deliver(in);
    client_frames::sendCancel(socket_, header_buf_, id);  // (the router may still hold it)
  });
  return id;
}

void AsyncClient::cancel(uint64_t id) {
  if (calls_.erase(id) == 0) return;
  client_frames::sendCancel(socket_, header_buf_, id);
}

void AsyncClient::onReadable() {
  // A bounded batch per wake-up, so one busy router link cannot starve the loop's other work.
  for (int i = 0; i < 256; ++i) {
    std::optional<Incoming> in = client_frames::receive(socket_, parts_, limits_);
    if (!in) return;
    deliver(*in);
  }
}

void AsyncClient::deliver(const Incoming& in) {
  auto it = calls_.find(in.id);
  if (it == calls_.end()) return;  // cancelled, or an answer after the local timeout
  // Held here: the callback may cancel (erase) its own request.
  std::shared_ptr<OnFrame> on_frame = it->second.on_frame;
  if (in.kind != Kind::kChunk) calls_.erase(it);  // ended: its timeout goes with it
  loop_.guarded("client frame", [&] { (*on_frame)(in); });
}

}  // namespace sb
