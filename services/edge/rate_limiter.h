#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "sb/auth/api_keys.h"
#include "sb/core/event_loop.h"
#include "sb/redis/slot_client.h"

namespace sb::edge {

// What the limiter said about one request.
struct Admission {
  bool allowed = true;
  // Redis answered: the figures below are real (else the request passed or failed on the
  // --rate-limit-on-error policy and no x-ratelimit-* headers are sent).
  bool checked = false;
  std::string refused_by;  // "requests", "tokens" or "concurrent" when refused
  int64_t retry_ms = 0;    // when refused: how long until the request would pass
  // As the x-ratelimit-* headers say them; -1 where the key has no such limit.
  int64_t limit_requests = -1, remaining_requests = -1, reset_requests_ms = 0;
  int64_t limit_tokens = -1, remaining_tokens = -1, reset_tokens_ms = 0;
};

struct RateLimiterOptions {
  std::string prefix = "sb:rl:";  // Redis keys: <prefix>{<key name>}:req | :tok | :live
  Millis timeout{500};            // longest wait for Redis before the on-error policy applies
  bool fail_open = true;          // Redis unreachable: let requests through (else refuse)
  // A request in flight holds a lease on its key's concurrency budget for this long, renewed
  // while it runs: an edge that dies frees its leases within this time.
  Millis lease{30000};
};

struct RateLimiterCounters {
  uint64_t refused_requests = 0, refused_tokens = 0, refused_concurrent = 0;
  uint64_t errors_allowed = 0, errors_refused = 0;  // Redis did not answer in time
};

// Per-key limits shared by every edge on one Redis (or Redis Cluster): requests per minute
// and tokens per minute as GCRA (a rolling minute; a whole minute's budget may be spent at
// once), and requests in flight as leases in a sorted set. Time is Redis's own (TIME), so
// the edges' clocks do not matter. One script call per admitted request and one when it
// ends; keys without limits cost nothing.
class RateLimiter {
  struct Core;

 public:
  // A request's place in its key's budget: ends with settle(tokens used) or, if dropped
  // unsettled, as a request that used no tokens. Move-only.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { settle(0); }
    void settle(int64_t tokens);

   private:
    friend class RateLimiter;
    std::weak_ptr<Core> core_;
    std::shared_ptr<const auth::ApiKey> key_;
    std::string id_;  // "" when the request holds no concurrency lease
  };
  using Done = std::function<void(const Admission&, Lease)>;

  RateLimiter(EventLoop& loop, redis::SlotClient& redis, RateLimiterOptions options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Asks Redis whether `key` may start a request now. `done` runs once (not after the limiter
  // is gone). A key without limits passes at once.
  void admit(const std::shared_ptr<const auth::ApiKey>& key, Done done);
  const RateLimiterCounters& counters() const;
  bool redisReady() const;

 private:
  std::shared_ptr<Core> core_;
  LoopHandle renew_;
};

}  // namespace sb::edge
