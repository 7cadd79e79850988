#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "sb/bus/curve.h"
#include "sb/core/clock.h"
#include "sb/core/event_loop.h"
#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb {

struct WorkerOptions {
  std::vector<std::string> routers;  // ZMQ endpoints; the worker joins every one
  std::string service;
  std::string name;                 // unique instance name; default service-host-pid-random
  std::vector<std::string> models;  // route tags served; empty = any
  uint32_t capacity = 16;           // requests served at once
  uint32_t weight = 1;
  bool backup = false;
  Millis heartbeat{1000};
  uint32_t liveness = 3;        // heartbeats missed before a router counts as gone
  Millis reconnect_min{1000};   // backoff after a router went silent, doubling...
  Millis reconnect_max{32000};  // ...up to this
  Millis drain_timeout{60000};  // in-flight requests still running then are failed
  proto::Limits limits;
  CurveClientKeys curve;  // enabled: every router link is CURVE (PROTOCOL.md 1.1)
};

struct WorkerStats {
  uint64_t handled = 0;    // requests that ended (any way)
  uint64_t cancelled = 0;  // cancels received for requests still running
  uint64_t rejected = 0;   // refused: over capacity, unknown op, too large
  uint64_t failed = 0;     // handlers that threw (their calls ended INTERNAL)
  uint32_t inflight = 0;
  uint32_t peak_inflight = 0;
};

class WorkerCore;

// One request being served. Handlers get a shared pointer and may keep it to answer later
// (after a timer, Redis or a backend answered). The first of reply() / fail() ends it; chunks
// may precede it. A Call dropped without an answer ends with INTERNAL, so no request is ever
// left silent. After a cancel, everything the handler sends is ignored.
class Call : public std::enable_shared_from_this<Call> {
 public:
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  uint64_t id() const { return header_.id; }
  std::string_view service() const { return header_.service; }
  std::string_view op() const { return header_.op; }
  std::string_view model() const { return header_.model; }
  std::string_view body() const;
  // The worker's decoding limits (--max-body and the rest).
  proto::Limits limits() const;
  // Decodes the body with the worker's limits.
  proto::Status decodeBody(msgpack::object_handle& out) const;
  // When the caller stops waiting (the router sends the time left); max() if none.
  TimePoint deadline() const { return deadline_; }

  void chunk(std::string_view body);
  void reply(std::string_view body);
  void fail(proto::ErrorCode code, std::string_view message);

  bool done() const { return done_; }
  bool cancelled() const { return cancelled_; }
  // Runs once if the request is cancelled (client gone, deadline, router lost, drain timeout);
  // never after the call ended otherwise. nullptr removes it: an object that registered one
  // and goes away before the call does must remove it.
  void onCancel(std::function<void()> fn) { on_cancel_ = std::move(fn); }

 private:
  friend class WorkerCore;
  friend class CallTable;
  Call() = default;
  void send(proto::Kind kind, std::string_view body, proto::ErrorCode code, std::string_view msg);
  // Ends the call as cancelled: with a CANCELLED frame to the router (`notify_router`), or
  // silently when the router has already failed it. Then runs the cancel callback.
  void cancel(bool notify_router);
  void runCancelCallback();

  std::weak_ptr<WorkerCore> core_;
  size_t link_ = 0;
  std::string key_;
  zmq::message_t envelope_;
  zmq::message_t header_frame_;
  zmq::message_t body_frame_;
  proto::Header header_;
  TimePoint deadline_ = TimePoint::max();
  uint64_t seq_ = 0;
  bool done_ = false;
  bool cancelled_ = false;
  bool counted_ = true;  // counts toward capacity (built-in ops do not)
  std::function<void()> on_cancel_;
};

using CallPtr = std::shared_ptr<Call>;
// A handler that throws fails its own call with INTERNAL; the process and every other call
// live on.
using Handler = std::function<void(const CallPtr&)>;

// The worker library: a service is a set of handlers registered here. It joins one or more
// routers, announces itself, heartbeats both ways, reconnects with backoff, serves up to
// `capacity` requests at once on the caller's event loop, and drains on request or SIGTERM.
class Worker {
 public:
  Worker(zmq::context_t& context, EventLoop& loop, WorkerOptions options);
  ~Worker();

  void handle(std::string op, Handler handler);
  // An administrative op (status, metrics, readiness): answered beside the service's work,
  // without counting against capacity, at capacity and while draining alike. Such handlers
  // answer at once and cheaply.
  void handleAdmin(std::string op, Handler handler);
  // Connects and announces. Call once, after registering handlers.
  void start();
  // Stops taking work, finishes what it has, says bye, then calls the drained callback.
  void drain();
  void onDrained(std::function<void()> fn);
  // Called once every router link has been heard from after start (the process is serving).
  void onRegistered(std::function<void()> fn);

  const std::string& name() const;
  const std::string& service() const;
  WorkerStats stats() const;
  bool draining() const;
  uint32_t capacity() const;
  // Routers this worker is registered with now, of routers() it joins.
  size_t registeredRouters() const;
  size_t routers() const;
  EventLoop& loop();

 private:
  std::shared_ptr<WorkerCore> core_;
};

// Convenience for a worker's main(): SIGTERM/SIGINT drain, ready-fd notified when registered,
// runs the loop until drained. Returns the process exit code.
int runWorker(Worker& worker, int& ready_fd);

// service-host-pid-random: unique enough to tell instances apart in status and logs.
std::string defaultWorkerName(std::string_view service, Random& random);

}  // namespace sb
