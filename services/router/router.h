#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "sb/core/event_loop.h"
#include "sb/core/frames.h"
#include "sb/metrics/metrics.h"
#include "sb/policy/balancer.h"
#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::router {

struct RouterOptions {
  std::string frontend = "tcp://*:5555";
  std::string backend = "tcp://*:5556";
  std::string policy = "least-conn";
  size_t queue_size = 1024;         // per service, while no worker is eligible
  Millis default_deadline{300000};  // for requests that carry none
  Millis heartbeat{1000};
  uint32_t liveness = 3;
  FailurePolicy failure;
  proto::Limits limits;
};

// Counters reported by router.status and exported as metrics.
struct RouterCounters {
  uint64_t requests = 0;
  uint64_t replies = 0;
  uint64_t errors = 0;
  uint64_t chunks = 0;
  uint64_t queued = 0;
  uint64_t redispatched = 0;
  uint64_t deadline_exceeded = 0;
  uint64_t resource_exhausted = 0;
  uint64_t unavailable = 0;
  uint64_t cancelled = 0;
  uint64_t malformed = 0;  // frames answered with an error
  uint64_t dropped = 0;    // frames dropped with nobody to answer
  uint64_t client_gone = 0;
};

// The broker. Clients connect DEALERs to the frontend ROUTER, workers to the backend ROUTER.
// It reads only headers, moves body frames untouched, and ends every request with a reply or
// an error. Runs on the caller's event loop.
class Router {
 public:
  Router(zmq::context_t& context, EventLoop& loop, RouterOptions options);
  ~Router();

  // The endpoints actually bound (wildcard ports resolved).
  std::string frontendEndpoint() const;
  std::string backendEndpoint() const;
  const RouterCounters& counters() const { return counters_; }

 private:
  struct Worker {
    WorkerId id = 0;
    std::string identity;
    std::string name;
    std::string service;
    WorkerSpec spec;
    TimePoint joined{};
    TimePoint last_seen{};
    TimePoint next_heartbeat{};
    Millis heartbeat{1000};
    uint32_t liveness = 3;
    bool draining = false;
    uint64_t dispatched = 0;
    uint64_t failures = 0;
  };
  struct Service {
    std::string name;
    BalancerPtr balancer;
    std::deque<std::pair<std::string, uint64_t>> queue;  // (request key, record seq)
    size_t queued = 0;
    Counter* requests = nullptr;
    Counter* ok = nullptr;
    Histogram* latency = nullptr;
  };
  struct Request {
    uint64_t seq = 0;
    Service* service = nullptr;
    WorkerId worker = 0;  // 0 while queued
    bool admin = false;   // addressed to one worker by name; outside the balancer
    std::string client;   // the client's routing identity
    uint64_t id = 0;
    std::string model;
    TimePoint started{};
    TimePoint deadline{};
    bool idempotent = false;
    bool streamed = false;
    bool client_done = false;  // the client already got its final frame
    zmq::message_t header;     // kept while queued, and for idempotent re-dispatch
    zmq::message_t body;
  };

  void onFrontend();
  void onBackend();
  void handleClientMessage(size_t n, bool too_many);
  void handleWorkerMessage(size_t n, bool too_many);
  void handleRequest(const proto::Header& h);
  void handleCancel(const proto::Header& h);
  void handleAdmin(const proto::Header& h);
  void onReady(Worker* known, const std::string& identity, std::string_view body);
  void onWorkerFrame(Worker& w, const proto::Header& h);

  Service& service(std::string_view name);
  // Sends a request to a worker. False when the worker turned out to be gone: the request
  // keeps its frames (caller re-queues it) and the worker is queued for removal.
  bool dispatch(Request& r, WorkerId wid);
  void pumpQueue(Service& s);
  void finish(const std::string& key, Request& r, proto::ErrorCode code);
  void removeWorker(WorkerId id, const char* why);
  void reapLostWorkers();
  void sendToWorker(const Worker& w, zmq::message_t&& envelope, zmq::message_t&& header,
                    zmq::message_t&& body);
  SendResult sendControl(const std::string& identity, proto::Kind kind);
  void sendCancel(const Worker& w, const Request& r);
  // Sends an error as the final frame of a client's request; false if the client is gone.
  bool replyError(std::string_view client, uint64_t id, proto::ErrorCode code,
                  const std::string& message);
  bool toClient(zmq::message_t* parts, size_t n);
  void housekeeping();
  void checkDeadlines();
  void armDeadline(TimePoint when);
  void countError(Service* s, proto::ErrorCode code);

  std::string statusBody();
  std::string metricsText();
  proto::Status drainWorker(std::string_view name);

  zmq::context_t& context_;
  EventLoop& loop_;
  RouterOptions options_;
  zmq::socket_t frontend_;
  zmq::socket_t backend_;
  LoopHandle frontend_watch_;
  LoopHandle backend_watch_;
  TimePoint started_;

  std::unordered_map<WorkerId, Worker> workers_;
  std::unordered_map<std::string, WorkerId> by_identity_;
  std::unordered_map<std::string, std::unique_ptr<Service>> services_;
  std::unordered_map<std::string, Request> requests_;  // key: client identity + request id
  WorkerId next_worker_ = 1;
  uint64_t next_seq_ = 1;

  TimePoint earliest_deadline_ = TimePoint::max();
  LoopHandle deadline_timer_;
  LoopHandle housekeeping_timer_;
  TimePoint last_heartbeat_{};

  std::vector<WorkerId> lost_workers_;
  std::vector<zmq::message_t> parts_;
  std::string header_buf_;
  RouterCounters counters_;
  MetricsRegistry metrics_;
};

}  // namespace sb::router
