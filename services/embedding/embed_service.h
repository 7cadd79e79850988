#pragma once

#include <string>

#include "backend_pool.h"
#include "embed_cache.h"
#include "embed_request.h"
#include "redis_tier.h"
#include "sb/bus/worker.h"
#include "sb/metrics/metrics.h"

namespace sb::embedding {

struct ServiceOptions {
  RequestLimits limits;
  std::string key_namespace;  // part of every key: change it to start a fresh cache
};

// The `embed`, `status` and `metrics` ops over the cache (PROTOCOL.md §10).
class EmbedService {
 public:
  EmbedService(Worker& worker, EmbedCache& cache, RedisTier& redis, BackendPool& pool,
               ServiceOptions options);
  ~EmbedService();
  EmbedService(const EmbedService&) = delete;
  EmbedService& operator=(const EmbedService&) = delete;

  void embed(const CallPtr& call);
  std::string statusBody() const;
  std::string metricsText();

 private:
  struct Pending;

  Worker& worker_;
  EmbedCache& cache_;
  RedisTier& redis_;
  BackendPool& pool_;
  ServiceOptions options_;
  MetricsRegistry metrics_;
  struct {
    uint64_t memory = 0, redis = 0, computed = 0;
  } sources_;
  uint64_t requests_ = 0, inputs_ = 0;
};

}  // namespace sb::embedding
