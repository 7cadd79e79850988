#include "worker_core.h"

#include "sb/core/frames.h"
#include "sb/proto/body_codec.h"

namespace sb {

using proto::ErrorCode;
using proto::Header;
using proto::Kind;

Call::~Call() {
  if (!done_) fail(ErrorCode::kInternal, "the handler finished without replying");
}

std::string_view Call::body() const { return view(body_frame_); }

proto::Limits Call::limits() const {
  auto core = core_.lock();
  return core ? core->options().limits : proto::Limits{};
}

proto::Status Call::decodeBody(msgpack::object_handle& out) const {
  return proto::decodeBody(body(), limits(), out);
}

void Call::chunk(std::string_view body) { send(Kind::kChunk, body, ErrorCode::kOk, {}); }
void Call::reply(std::string_view body) { send(Kind::kReply, body, ErrorCode::kOk, {}); }
void Call::fail(ErrorCode code, std::string_view message) { send(Kind::kError, {}, code, message); }

void Call::send(Kind kind, std::string_view body, ErrorCode code, std::string_view msg) {
  if (done_) return;
  auto core = core_.lock();
  if (!core) {
    done_ = true;
    return;
  }
  Header h;
  h.kind = kind;
  h.id = header_.id;
  if (kind == Kind::kChunk) h.seq = ++seq_;
  if (kind == Kind::kError) {
    h.error = code;
    h.message = msg;
  }
  core->sendFrames(link_, envelope_, h, body);
  if (proto::isFinal(kind)) {
    done_ = true;
    on_cancel_ = nullptr;  // ended otherwise: a cancel can no longer come
    core->finished(*this);
  }
}

void Call::cancel(bool notify_router) {
  if (done_) return;
  auto core = core_.lock();
  if (core) ++core->stats_.cancelled;
  auto fn = std::move(on_cancel_);
  on_cancel_ = nullptr;
  if (notify_router) {
    // The final frame releases the router's slot for this request.
    fail(ErrorCode::kCancelled, "cancelled");
  } else {
    done_ = true;
    if (core) core->finished(*this);
  }
  cancelled_ = true;
  if (fn) {
    if (core)
      core->runCallback(*this, fn);
    else
      fn();
  }
}

}  // namespace sb
