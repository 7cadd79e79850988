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
#include "sb/core/event_loop.h"

namespace sb {

// The client library on the process's event loop: a DEALER to one router, requests sent with a
// callback that receives each frame of the answer (chunks, then one reply or error) as it
// arrives. For services that are clients of others (the HTTP edge): no thread and no blocking
// wait. The callback of a request that ends (reply or error), is cancelled, or whose client
// is destroyed is never called again; a request the router never answers ends with
// DEADLINE_EXCEEDED `grace` after its deadline, so every request ends.
class AsyncClient {
 public:
  using OnFrame = std::function<void(const Incoming& frame)>;

  AsyncClient(zmq::context_t& context, EventLoop& loop, const std::string& router,
              proto::Limits limits = {}, Millis grace = Millis(2000));
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  uint64_t send(std::string_view service, std::string_view op, std::string_view body,
                const CallOptions& options, OnFrame on_frame);
  // Asks the router to cancel the request; its callback is not called any more.
  void cancel(uint64_t id);
  size_t inflight() const { return calls_.size(); }

 private:
  struct Pending {
    std::shared_ptr<OnFrame> on_frame;  // shared: a frame's delivery holds it
    LoopHandle timeout;
  };
  void onReadable();
  void deliver(const Incoming& in);

  EventLoop& loop_;
  zmq::socket_t socket_;
  proto::Limits limits_;
  Millis grace_;
  std::unordered_map<uint64_t, Pending> calls_;
  std::vector<zmq::message_t> parts_;
  std::string header_buf_;
  uint64_t next_id_ = 1;
  LoopHandle watch_;
};

}  // namespace sb
