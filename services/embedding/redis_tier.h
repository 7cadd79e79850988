#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cache_key.h"
#include "sb/core/event_loop.h"
#include "sb/proto/status.h"
#include "sb/redis/slot_client.h"

namespace sb::embedding {

struct RedisTierOptions {
  std::string prefix = "sbe:";
  uint32_t ttl_s = 0;   // 0: values do not expire (let maxmemory-policy evict them)
  Millis timeout{250};  // a lookup slower than this counts as a miss (Redis is an option)
  Millis lease{3000};   // a computation's lease; renewed while it runs
};

struct RedisCounters {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t errors = 0;   // commands that failed or timed out
  uint64_t skipped = 0;  // lookups not tried: Redis not ready
  uint64_t stores = 0;
  uint64_t store_errors = 0;
};

// The shared tier: values and leases in Redis through the slot-map client (one node, static
// shards or a Redis Cluster). Commands issued in one loop round go out together on each
// node's pipelined connection, so one request's lookups are pipelined per node.
//
// A lease is `SET lease token NX PX ms`: whoever holds it computes the value; the others poll
// for the value. A holder renews its lease while it computes and releases it (only if it is
// still its own: compare and delete) when it stores the value or fails; a holder that dies
// stops renewing, so its lease runs out and a waiter takes over.
class RedisTier {
 public:
  enum class Claim : uint8_t { kValue, kLeased, kHeld, kError };
  using GetDone = std::function<void(const proto::Status&, bool found, std::string value)>;
  using ClaimDone = std::function<void(Claim, std::string value)>;

  RedisTier(EventLoop& loop, redis::SlotClient* client, RedisTierOptions options);

  bool enabled() const { return client_ != nullptr; }
  // Configured and answering (complete slot map, every master answers PING).
  bool usable() const { return client_ && client_->ready(); }
  // GET (GETEX with the TTL, which refreshes it on a hit).
  void get(const Digest& d, GetDone done);
  // In one script: the value if it is there now (a computation just finished), else the lease
  // if it is free (kLeased), else kHeld.
  void claim(const Digest& d, const std::string& token, ClaimDone done);
  // SET the value (with the TTL); with a token, also releases that lease.
  void store(const Digest& d, std::string value, const std::string& token);
  // Deletes the lease if it is still `token`'s; `done` (optional) runs once Redis answered or
  // the lookup timeout passed.
  void release(const Digest& d, const std::string& token, std::function<void()> done = nullptr);
  void renew(const Digest& d, const std::string& token);
  std::string newToken();
  void countSkipped() { ++counters_->skipped; }

  const RedisCounters& counters() const { return *counters_; }
  const RedisTierOptions& options() const { return options_; }

 private:
  void script(const Digest& d, const std::string& body, const std::string& sha,
              std::vector<std::string> args, redis::SlotClient::Callback cb);
  redis::CommandOptions commandOptions(bool idempotent) const;

  EventLoop& loop_;
  redis::SlotClient* client_;
  RedisTierOptions options_;
  // Shared with the commands' callbacks, which the slot client may hold after we are gone.
  std::shared_ptr<RedisCounters> counters_ = std::make_shared<RedisCounters>();
};

}  // namespace sb::embedding
