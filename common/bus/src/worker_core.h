#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "call_table.h"
#include "handshake_watch.h"
#include "sb/bus/router_link.h"
#include "sb/bus/worker.h"
#include "sb/proto/header.h"

namespace sb {

// The worker library's socket glue: one DEALER per router, frames in and out, handlers called
// inside an exception boundary. The rules live in plain parts: RouterLink (connect, register,
// silence, backoff, drain per router) and CallTable (the calls being served).
class WorkerCore : public std::enable_shared_from_this<WorkerCore> {
 public:
  WorkerCore(zmq::context_t& context, EventLoop& loop, WorkerOptions options);

  void start();
  void drain();

  // From Call: a frame for one request, and its end.
  void sendFrames(size_t link, const zmq::message_t& envelope, const proto::Header& h,
                  std::string_view body);
  void finished(Call& call);
  // A cancel callback, inside the boundary.
  void runCallback(const Call& call, const std::function<void()>& fn);

  const WorkerOptions& options() const { return options_; }
  bool draining() const { return draining_; }
  size_t registeredRouters() const;
  EventLoop& loop() { return loop_; }
  WorkerStats stats_;
  std::unordered_map<std::string, Handler> handlers_;
  std::unordered_map<std::string, Handler> admin_handlers_;  // outside capacity and drain
  std::function<void()> on_drained_;
  std::function<void()> on_registered_;

 private:
  struct Link {
    std::string endpoint;
    RouterLink state;
    std::unique_ptr<zmq::socket_t> socket;
    std::unique_ptr<HandshakeWatch> handshake;  // why handshakes fail (after the socket)
    LoopHandle watch;
    LoopHandle reconnect;
  };
  using Frames = std::vector<zmq::message_t>;

  void connect(size_t idx);
  void announce(size_t idx);
  void sendControl(size_t idx, proto::Kind kind);
  void tick();
  // Drops the socket and comes back after the link's backoff (silence, or a refusal).
  void drop(size_t idx, const char* why);
  // Ends every call that came over this link without a frame: the router has failed them.
  void abandonCalls(size_t idx);
  void failAll(proto::ErrorCode code, const std::string& message);
  void onReadable(size_t idx);
  void onMessage(size_t idx, Frames& frames);
  void onRequest(size_t idx, Frames& frames);
  void onCancel(size_t idx, const zmq::message_t& envelope, uint64_t id);
  void builtin(const CallPtr& call);
  // Runs a handler inside the boundary: one that throws fails its own call with INTERNAL.
  void runHandler(const Handler& handler, const CallPtr& call);
  void checkRegistered();
  void maybeFinishDrain();

  zmq::context_t& context_;
  EventLoop& loop_;
  WorkerOptions options_;
  uint64_t instance_;  // "inst" in our ready: tells the router a reconnect is still us
  std::vector<Link> links_;
  CallTable calls_;
  Frames frames_;  // receive buffer, reused
  std::string header_buf_;
  LoopHandle heartbeat_timer_;
  LoopHandle drain_timer_;
  bool draining_ = false;
  bool drained_ = false;
};

}  // namespace sb
