#pragma once

#include <optional>
#include <vector>

#include "backend_pool.h"
#include "embed_cache.h"
#include "embed_service.h"
#include "hash_embedder.h"
#include "redis_tier.h"
#include "sb/bus/worker.h"
#include "sb/core/backend_flag.h"
#include "sb/core/options.h"
#include "sb/redis/slot_client.h"

namespace sb::embedding {

struct EmbeddingConfig {
  WorkerOptions worker;
  std::vector<BackendFlag> backends;  // none given: the hash embedder, serving any model
  HashEmbedderOptions hash;
  PoolOptions pool;
  CacheOptions cache;
  bool redis_enabled = true;
  redis::SlotClientOptions redis;
  RedisTierOptions tier;
  ServiceOptions service;
  Millis connect_timeout{2000};
  CommonOptions common;
};

std::optional<int> parseEmbeddingConfig(int argc, char** argv, EmbeddingConfig& config);
int runEmbedding(EmbeddingConfig& config);

}  // namespace sb::embedding
