#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "sb/auth/curve_peers.h"
#include "sb/core/event_loop.h"

namespace sb::router {

// The ZAP handler (ZMTP's authentication protocol, RFC 27) of a router running CURVE: libzmq
// asks it, over inproc://zeromq.zap.01, whether each new connection's public key may connect,
// and it answers from the allow-list of the socket's role (domain "clients" or "workers").
// An allowed peer's User-Id is its public key, which every message it sends carries. A refused
// peer is logged with its address and key fingerprint, once a minute per peer, never per try.
// Construct it before the CURVE sockets bind: without a handler libzmq lets every key in.
class ZapHandler {
 public:
  static constexpr const char* kClients = "clients";
  static constexpr const char* kWorkers = "workers";

  ZapHandler(zmq::context_t& context, EventLoop& loop,
             std::shared_ptr<const auth::CurvePeers> peers);
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // The allow-list from now on (a SIGHUP reload); connections made before keep going until
  // the router checks their key again (each request, each announcement).
  void setPeers(std::shared_ptr<const auth::CurvePeers> peers) { peers_ = std::move(peers); }
  const auth::CurvePeers& peers() const { return *peers_; }
  uint64_t allowed() const { return allowed_; }
  uint64_t refused() const { return refused_; }

 private:
  void onRequest();
  // A refusal's log line, unless this peer was logged within the last minute.
  void logRefusal(const std::string& domain, const std::string& address, const std::string& key,
                  const std::string& why);

  EventLoop& loop_;
  zmq::socket_t socket_;
  LoopHandle watch_;
  std::shared_ptr<const auth::CurvePeers> peers_;
  uint64_t allowed_ = 0, refused_ = 0;
  struct Logged {
    TimePoint at;
    uint64_t unlogged = 0;
  };
  std::map<std::string, Logged> logged_;  // domain|address|key -> last line (bounded)
};

// The public key (Z85) a CURVE peer's message came with (its ZAP User-Id); "" without.
std::string peerKey(const zmq::message_t& frame);

}  // namespace sb::router
