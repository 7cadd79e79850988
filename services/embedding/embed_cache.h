#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "backend_pool.h"
#include "cache_key.h"
#include "embedding.h"
#include "redis_tier.h"
#include "sb/policy/tinylfu_cache.h"

namespace sb::embedding {

struct CacheOptions {
  size_t memory_bytes = size_t{256} << 20;  // tier 1 budget (0: no memory tier)
  Millis poll_min{5};       // a waiter polls for another instance's result, first after this,
  Millis poll_max{100};     // doubling up to this
  Millis max_wait{120000};  // waiting on another instance longer than this: compute ourselves
  uint32_t max_dim = 65536;
};

struct CacheCounters {
  uint64_t joined = 0;       // lookups that joined a computation already running here
  uint64_t lease_waits = 0;  // computations left to another instance holding the lease
  uint64_t takeovers = 0;    // ... that we computed after all (its holder died or failed)
  uint64_t corrupt = 0;      // cached values refused (recomputed and overwritten)
  uint64_t computed = 0;     // vectors computed by a backend for this instance
  uint64_t failed = 0;       // computations that failed (never cached)
};

// The two tiers and the single flight in front of the backends. For one input: the memory
// tier answers at once; otherwise the lookup joins the flight for its digest, or starts one:
// Redis GET, then (a miss) the claim script, which returns the value if it just arrived or
// the lease; the lease holder computes (batched by the backend pool), stores the value in
// both tiers and releases the lease; an instance that finds the lease held polls until the
// value is there, or takes the lease over once it is free again (the holder died or failed).
// Redis unusable: memory and backend only. A failure is never cached. A waiter that gives up
// does not stop its flight: the result still fills the caches.
class EmbedCache {
 public:
  using Waiter = std::function<void(const proto::Status&, const EmbeddingPtr&, Source)>;

  EmbedCache(EventLoop& loop, RedisTier& redis, BackendPool& pool, CacheOptions options);
  ~EmbedCache();
  EmbedCache(const EmbedCache&) = delete;
  EmbedCache& operator=(const EmbedCache&) = delete;

  // The memory tier's vector, or nullptr (counted as a hit or a miss).
  EmbeddingPtr fromMemory(const Digest& d);
  // Joins or starts the flight for `d`; `waiter` runs once, later.
  void fetch(const KeySpace& space, const Digest& d, std::string_view text, Waiter waiter);

  const CacheCounters& counters() const { return counters_; }
  const TinyLfuCache<EmbeddingPtr>& memory() const { return memory_; }
  size_t flights() const { return flights_.size(); }

 private:
  struct Flight;
  using FlightPtr = std::shared_ptr<Flight>;
  void lookup(const FlightPtr& f);
  void claim(const FlightPtr& f);
  void poll(const FlightPtr& f);
  void compute(const FlightPtr& f, bool leased);
  // A value read from Redis: finishes the flight, or (corrupt) computes and overwrites it.
  void found(const FlightPtr& f, const std::string& value);
  void finish(const FlightPtr& f, const proto::Status& st, const EmbeddingPtr& e, Source src);
  void remember(const Digest& d, const EmbeddingPtr& e);
  // The dimension a cached value must have: the one asked for, else the one this model
  // produced here before (0: not known yet).
  uint32_t expectedDim(const Flight& f) const;

  EventLoop& loop_;
  RedisTier& redis_;
  BackendPool& pool_;
  CacheOptions options_;
  TinyLfuCache<EmbeddingPtr> memory_;
  std::unordered_map<std::string, FlightPtr> flights_;  // by digest bytes
  std::unordered_map<std::string, uint32_t> dims_;      // by space (model, options)
  CacheCounters counters_;
};

}  // namespace sb::embedding
