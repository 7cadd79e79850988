#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "sb/core/clock.h"
#include "sb/policy/balancer.h"

namespace sb::router {

struct Service;

// One client request the router has accepted and not yet ended.
struct Request {
  uint64_t seq = 0;  // unique per accepted request: tells a stale queue entry apart
  Service* service = nullptr;
  MemberId worker = 0;  // 0 while queued
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
  uint32_t deadline_at = 0;  // where the header's "dl" value is, to send the time left
  zmq::message_t body;
};

// The requests in flight, keyed by client identity + request id, with the earliest deadline
// among them (the router arms one timer for it instead of one per request).
class RequestTable {
 public:
  RequestTable() { requests_.reserve(8192); }

  // Requests are keyed by the client's routing identity and its request id; ZMQ identities are
  // 5 bytes by default, so the key fits std::string's inline buffer (no allocation).
  static std::string key(std::string_view client, uint64_t id);

  Request* find(const std::string& key);
  // A new request under `key` (which must be free), with its sequence number set.
  Request& insert(const std::string& key);
  void erase(const std::string& key) { requests_.erase(key); }
  size_t size() const { return requests_.size(); }
  std::vector<std::string> keys() const;
  // The keys of the requests running on `worker`.
  std::vector<std::string> on(MemberId worker) const;

  // Records a deadline; true when it is now the earliest (re-arm the timer for it).
  bool noteDeadline(TimePoint when);
  TimePoint earliestDeadline() const { return earliest_; }
  // The keys whose deadline has passed; the earliest deadline is recomputed from the rest.
  std::vector<std::string> expired(TimePoint now);

 private:
  std::unordered_map<std::string, Request> requests_;
  uint64_t next_seq_ = 1;
  TimePoint earliest_ = TimePoint::max();
};

}  // namespace sb::router
