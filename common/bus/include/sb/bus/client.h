#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "sb/bus/curve.h"
#include "sb/core/clock.h"
#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb {

struct CallOptions {
  std::string model;        // route tag
  std::string target;       // a worker name, for administrative requests
  Millis deadline{30000};   // sent to the router, which enforces it
  bool idempotent = false;  // may be re-dispatched if its worker dies before streaming
};

// One frame received for a request.
struct Incoming {
  uint64_t id = 0;
  proto::Kind kind = proto::Kind::kReply;
  proto::ErrorCode code = proto::ErrorCode::kOk;
  std::string message;
  std::string body;
  uint64_t seq = 0;
};

struct CallResult {
  proto::Status status;
  std::vector<std::string> chunks;  // bodies of the chunks, in order
  std::string body;                 // body of the final reply
};

// The client library: a DEALER to one router, many requests in flight, chunks delivered as
// they arrive. Used by sbctl, tests and benchmarks. Not thread-safe (one per thread).
class Client {
 public:
  Client(zmq::context_t& context, const std::string& router, proto::Limits limits = {},
         const CurveClientKeys& curve = {});

  // Sends a request; returns its id.
  uint64_t send(std::string_view service, std::string_view op, std::string_view body,
                const CallOptions& options = {});
  // Asks the router to cancel a request (the worker sees the cancel).
  void cancel(uint64_t id);
  // The next frame for any request, or nullopt when none arrived within `timeout`.
  std::optional<Incoming> next(Millis timeout);

  // Sends and waits for the final frame, passing chunks to `on_chunk` (and keeping them in the
  // result). Gives up `grace` after the deadline if the router never answers, cancelling.
  CallResult call(std::string_view service, std::string_view op, std::string_view body,
                  const CallOptions& options = {},
                  const std::function<void(const Incoming&)>& on_chunk = {},
                  Millis grace = Millis(2000));

  zmq::socket_t& socket() { return socket_; }

 private:
  zmq::socket_t socket_;
  proto::Limits limits_;
  uint64_t next_id_ = 1;
  std::vector<zmq::message_t> parts_;
  std::string header_buf_;
};

}  // namespace sb
