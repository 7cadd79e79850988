#pragma once

#include <string>

#include <zmq.hpp>

#include "sb/bus/curve.h"
#include "sb/core/event_loop.h"

namespace sb {

// Watches the handshakes of a socket connected to a router (libzmq's socket monitor, on the
// loop) and says in the log why they fail, naming the endpoint, at most once per `every`: the
// router refused our CURVE key (not in its allow-list for our role), the handshake broke off
// (we hold the wrong router key, or the router speaks plain TCP), or, for a process without
// keys (`curve` not enabled), the router asks for CURVE. A success after failures is logged
// too. Declare it after the socket it watches (it must go first).
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& context, EventLoop& loop, zmq::socket_t& socket,
                 std::string endpoint, const CurveClientKeys& curve, Millis every = Millis(30000));
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

 private:
  void onEvent();
  void report(uint16_t event, uint32_t value);

  EventLoop& loop_;
  std::string endpoint_, fingerprint_;
  Millis every_;
  zmq::socket_t monitor_;
  LoopHandle watch_;
  uint64_t failures_ = 0, unlogged_ = 0;  // since the last success; since the last log line
  TimePoint last_log_{};
  bool logged_once_ = false;
};

}  // namespace sb
