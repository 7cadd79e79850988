#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "sb/bus/client.h"
#include "sb/bus/curve.h"
#include "sb/bus/router_pool.h"
#include "sb/core/event_loop.h"

namespace sb {

class HandshakeWatch;

struct AsyncClientOptions {
  proto::Limits limits;
  // A request the router never answers ends DEADLINE_EXCEEDED this long after its deadline.
  Millis grace{2000};
  // Heartbeats to every router (PROTOCOL.md 4.5); a router silent for heartbeat x liveness is
  // skipped and the requests it held end UNAVAILABLE (idempotent ones not yet answered are
  // sent to another router).
  Millis heartbeat{1000};
  uint32_t liveness = 3;
  CurveClientKeys curve;  // enabled: every router link is CURVE (PROTOCOL.md 1.1)
};

// The client library on the process's event loop: a DEALER to each of one or more routers,
// requests sent with a callback that receives each frame of the answer (chunks, then one reply
// or error) as it arrives. For services that are clients of others (the HTTP edge): no thread
// and no blocking wait.
//
// Each request goes to a live router (the one with the fewest of our requests in flight); a
// draining router's refusals are sent to another, and while no router is live requests wait
// here until one is (or their deadline passes). The callback of a request that ends (reply or
// error), is cancelled, or whose client is destroyed is never called again; every request ends.
class AsyncClient {
 public:
  using OnFrame = std::function<void(const Incoming& frame)>;

  AsyncClient(zmq::context_t& context, EventLoop& loop, const std::vector<std::string>& routers,
              const AsyncClientOptions& options = {});
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  uint64_t send(std::string_view service, std::string_view op, std::string_view body,
                const CallOptions& options, OnFrame on_frame);
  // Asks the router to cancel the request; its callback is not called any more.
  void cancel(uint64_t id);
  size_t inflight() const { return calls_.size(); }
  // Requests waiting here for a live router.
  size_t waiting() const { return waiting_.size(); }
  const RouterPool& routers() const { return pool_; }
  const std::string& endpoint(size_t i) const { return links_[i]->endpoint; }

 private:
  struct Link {
    std::string endpoint;
    zmq::socket_t socket;
    std::unique_ptr<HandshakeWatch> handshake;  // why handshakes fail (after the socket)
    LoopHandle watch;
    size_t inflight = 0;
  };
  static constexpr size_t kNowhere = SIZE_MAX;
  struct Pending {
    std::shared_ptr<OnFrame> on_frame;  // shared: a frame's delivery holds it
    LoopHandle timeout;
    size_t router = kNowhere;  // kNowhere: waiting for a live router
    bool answered = false;     // a frame came: the request must not be sent anywhere else
    // Kept until the first frame, to send the request again when a router refuses it.
    std::string service, op, body;
    CallOptions options;
  };
  void route(uint64_t id, Pending& p);
  void onReadable(size_t link);
  void onControl(size_t link, const Incoming& in);
  void tick();
  void routerLost(size_t link);
  void flushWaiting();
  void deliver(const Incoming& in);
  void fail(uint64_t id, proto::ErrorCode code, const std::string& message);

  EventLoop& loop_;
  AsyncClientOptions options_;
  std::vector<std::unique_ptr<Link>> links_;
  RouterPool pool_;
  std::unordered_map<uint64_t, Pending> calls_;
  std::vector<uint64_t> waiting_;
  std::vector<size_t> inflight_scratch_;
  std::vector<zmq::message_t> parts_;
  std::string header_buf_;
  uint64_t next_id_ = 1;
  LoopHandle heartbeat_;
};

}  // namespace sb
