#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "request_table.h"
#include "sb/auth/curve_keys.h"
#include "sb/auth/curve_peers.h"
#include "sb/core/event_loop.h"
#include "sb/core/frames.h"
#include "sb/metrics/metrics.h"
#include "sb/policy/balancer.h"
#include "sb/proto/header.h"
#include "sb/proto/status.h"
#include "service_queue.h"
#include "worker_registry.h"
#include "zap_handler.h"

namespace sb::router {

struct RouterOptions {
  // Loopback by default (plain TCP is for one host; other hosts need an explicit bind, and
  // CURVE: PROTOCOL.md 1.1).
  std::string clients = "tcp://127.0.0.1:5555";  // where clients connect (the "frontend")
  std::string workers = "tcp://127.0.0.1:5556";  // where workers connect (the "backend")
  std::string policy = "least-conn";
  size_t queue_size = 1024;         // per service, while no worker is eligible
  Millis default_deadline{300000};  // for requests that carry none
  // How long requests wait for a service none of whose workers is live (all gone or
  // draining) before they end UNAVAILABLE: room for a restarting worker to come back.
  Millis no_worker_grace{3000};
  Millis drain_timeout{60000};  // SIGTERM: longest wait for accepted requests to finish
  HeartbeatRules heartbeat;
  FailurePolicy failure;
  proto::Limits limits;
  // CURVE on both endpoints (PROTOCOL.md 1.1): the router's key pair and who may connect.
  std::optional<auth::CurveKeyPair> curve;
  std::shared_ptr<const auth::CurvePeers> peers;  // at start; Router::setPeers replaces it
  std::string peers_file;                         // where `peers` came from: read again on SIGHUP
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
  uint64_t refused = 0;         // announcements refused
  uint64_t sent_elsewhere = 0;  // requests a draining router handed back to their client
};

// One service: its workers' balancer and its queue.
struct Service {
  std::string name;
  BalancerPtr balancer;
  ServiceQueue queue;
  uint32_t live = 0;                        // registered workers not draining
  TimePoint none_live_since = TimePoint{};  // when `live` last dropped to 0
  Counter* requests = nullptr;
  Counter* ok = nullptr;
  Histogram* latency = nullptr;
};

// The broker. Clients connect DEALERs to its client endpoint, workers to its worker endpoint.
// It reads only headers, moves body frames untouched, and ends every request with a reply or
// an error. Runs on the caller's event loop; the rules live in WorkerRegistry, RequestTable
// and ServiceQueue, and this is the socket glue around them.
class Router {
 public:
  Router(zmq::context_t& context, EventLoop& loop, RouterOptions options);
  ~Router();

  // The endpoints actually bound (wildcard ports resolved).
  std::string clientEndpoint() const;
  std::string workerEndpoint() const;
  const RouterCounters& counters() const { return counters_; }
  // Prometheus text of the router's registry (refreshed from its state first).
  std::string metricsText();
  // What the bus op `metrics` answers instead: the whole process's text (admin plane).
  void setMetricsSource(std::function<std::string()> fn) { metrics_source_ = std::move(fn); }

  // Drains the router (PROTOCOL.md 4.5): clients that heartbeat are told to send new requests
  // elsewhere, and new requests are handed back to them (or refused UNAVAILABLE for clients
  // that do not heartbeat); requests already accepted finish. `on_drained` runs (from the
  // loop) once none is left, or after `timeout`, when the rest end UNAVAILABLE.
  void drain(Millis timeout, std::function<void()> on_drained);
  bool draining() const { return draining_; }
  // A new CURVE allow-list (SIGHUP): new connections are checked against it at once, and
  // workers whose key it no longer lists for their service are let go.
  void setPeers(std::shared_ptr<const auth::CurvePeers> peers);

 private:
  using Frames = std::vector<zmq::message_t>;

  void onClients();
  void onWorkers();
  void handleClientMessage(Frames& f, size_t n, bool too_many);
  void handleRequest(Frames& f, const proto::Header& h);
  void handleCancel(std::string_view client, const proto::Header& h);
  // A client's heartbeat: answered `heartbeat`, or `drain` while draining.
  void handleClientHeartbeat(std::string_view client);
  // A client's `drain`: it has our `drain`, so nothing it sends us after this is new work.
  void handleClientDrainAck(std::string_view client);
  // While draining: hands a new request back to its client (or refuses it). True if it did.
  bool sendElsewhere(std::string_view client, uint64_t id);
  // False when the client is gone (its connection closed).
  bool sendClientControl(std::string_view client, proto::Kind kind, uint64_t id);
  void checkDrained();
  void forgetQuietClients();
  void handleAdmin(Frames& f, const proto::Header& h);
  void handleWorkerMessage(Frames& f, size_t n, bool too_many);
  void onReady(const std::string& identity, std::string_view header_service, std::string_view body,
               const std::string& key);
  void onWorkerFrame(RegisteredWorker& w, Frames& f, const proto::Header& h);
  void refuse(const std::string& identity, const std::string& why);

  Service& service(std::string_view name);
  Service* findService(std::string_view name);
  // Sends a request to a worker. False when the worker turned out to be gone: the request
  // keeps its frames (caller re-queues it) and the worker is queued for removal.
  bool dispatch(Request& r, MemberId wid);
  void pumpQueue(Service& s);
  void failQueued(Service& s, proto::ErrorCode code, const std::string& message);
  void finish(const std::string& key, Request& r, proto::ErrorCode code);
  // A request of `s` ended (also those refused at once: no live worker, queue full).
  void countResponse(Service& s, proto::ErrorCode code, double seconds);
  void setDraining(RegisteredWorker& w);
  void removeWorker(MemberId id, const char* why);
  void reapLostWorkers();
  SendResult sendControl(const std::string& identity, proto::Kind kind);
  void sendCancel(const RegisteredWorker& w, const Request& r);
  // Sends an error as the final frame of a client's request; false if the client is gone.
  bool replyError(std::string_view client, uint64_t id, proto::ErrorCode code,
                  const std::string& message);
  bool toClient(zmq::message_t* parts, size_t n);
  void housekeeping();
  void checkDeadlines();
  void armDeadline(TimePoint when);

  std::string statusBody();
  proto::Status drainWorker(std::string_view name);

  zmq::context_t& context_;
  EventLoop& loop_;
  RouterOptions options_;
  std::function<std::string()> metrics_source_;
  std::unique_ptr<ZapHandler> zap_;  // with CURVE; before the sockets: they use it
  zmq::socket_t clients_;
  zmq::socket_t workers_;
  LoopHandle clients_watch_;
  LoopHandle workers_watch_;
  TimePoint started_;

  WorkerRegistry registry_;
  RequestTable requests_;
  std::unordered_map<std::string, std::unique_ptr<Service>> services_;

  LoopHandle deadline_timer_;
  LoopHandle housekeeping_timer_;

  std::vector<MemberId> lost_workers_;
  // Clients that heartbeat (so understand `drain`), by routing identity: when last heard.
  std::unordered_map<std::string, TimePoint> clients_heard_;
  TimePoint last_client_sweep_{};
  bool draining_ = false;
  TimePoint drain_started_{};
  TimePoint drain_deadline_{};
  // Live clients told to go elsewhere that have not acknowledged yet: requests they sent before
  // reading our `drain` may still be on the way, so the router does not leave before them.
  std::unordered_set<std::string> drain_unacked_;
  std::function<void()> on_drained_;
  Frames frames_;  // receive buffer, reused; handed to the handlers explicitly
  std::string header_buf_;
  RouterCounters counters_;
  MetricsRegistry metrics_;
};

}  // namespace sb::router
