#include "embedding_config.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "hash_backend.h"
#include "openai_embed_backend.h"
#include "sb/admin/backend_checks.h"
#include "sb/admin/redis_check.h"
#include "sb/bus/worker_config.h"
#include "sb/core/config.h"
#include "sb/http/http_client.h"
#include "sb/redis/redis_flags.h"

namespace sb::embedding {

std::optional<int> parseEmbeddingConfig(int argc, char** argv, EmbeddingConfig& c) {
  CLI::App app{
      "Switchboard embedding cache: vectors from memory, Redis, or batched backend calls "
      "computed once across every instance",
      "sb-embedding-cache"};
  c.worker.service = "embeddings";
  c.worker.capacity = 1024;
  WorkerFlags wf;
  addWorkerOptions(app, c.worker, wf);
  app.get_option("--capacity")->default_val(1024);
  std::vector<std::string> backends;
  app.add_option("--embed-backend", backends,
                 "A backend: kind=hash|openai,url=URL,models=a|b,weight=N,max_conns=N,backup,"
                 "api_key_env=VAR,name=NAME; repeat. None: the built-in hash embedder (lexical, "
                 "not semantic) serving any model");
  app.add_option("--hash-dimensions", c.hash.dimensions,
                 "Hash embedder: dimensions when a request asks for none")
      ->check(CLI::Range(1, 16384))
      ->capture_default_str();
  app.add_option("--max-batch", c.pool.max_batch, "Texts in one backend call")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  int64_t window_ms = c.pool.window.count(), timeout_ms = c.pool.timeout.count(),
          connect_ms = c.connect_timeout.count();
  app.add_option("--batch-window-ms", window_ms,
                 "How long a miss waits for others to share its backend call")
      ->check(sb::nonNegativeNumber())
      ->capture_default_str();
  app.add_option("--backend-timeout-ms", timeout_ms, "Longest backend call")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--connect-timeout-ms", connect_ms, "Backend connect timeout")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-tries", c.pool.max_tries, "Backends tried for one batch")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  int64_t memory_mb = static_cast<int64_t>(c.cache.memory_bytes >> 20);
  app.add_option("--memory-mb", memory_mb, "Memory tier budget in MiB, everything counted (0: off)")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}))
      ->capture_default_str();
  bool no_redis = false;
  app.add_flag("--no-redis", no_redis, "No shared tier: memory and backends only");
  redis::RedisFlags rf;
  redis::addRedisOptions(app, rf, c.redis);
  app.add_option("--key-prefix", c.tier.prefix, "Prefix of every Redis key")->capture_default_str();
  app.add_option("--key-namespace", c.service.key_namespace,
                 "Part of every cache key: change it to start from an empty cache");
  app.add_option("--redis-ttl-s", c.tier.ttl_s,
                 "Expiry of cached vectors in Redis, refreshed on every hit (0: none; let "
                 "maxmemory-policy evict)")
      ->capture_default_str();
  int64_t lookup_ms = c.tier.timeout.count(), lease_ms = c.tier.lease.count(),
          poll_max_ms = c.cache.poll_max.count();
  app.add_option("--redis-lookup-timeout-ms", lookup_ms,
                 "A Redis lookup slower than this is a miss (the backend answers instead)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--lease-ms", lease_ms,
                 "Computation lease across instances: renewed while computing; a dead "
                 "holder's lease runs out after this")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--lease-poll-max-ms", poll_max_ms,
                 "Longest interval at which a waiter polls for another instance's result")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-inputs", c.service.limits.max_inputs, "Texts in one request")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-text-bytes", c.service.limits.max_text_bytes, "Bytes of one text")
      ->check(CLI::Range(1, 1 << 22))
      ->capture_default_str();
  addCommonOptions(app, c.common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "sb-embedding-cache: %s\n", why.c_str());
    return 2;
  };
  if (auto err = applyWorkerOptions(c.worker, wf)) return fail(*err);
  c.redis_enabled = !no_redis;
  if (c.redis_enabled) {
    if (auto err = redis::applyRedisOptions(rf, c.redis)) return fail(*err);
  }
  if (c.tier.prefix.find_first_of("{}") != std::string::npos)
    return fail("--key-prefix must not contain braces (they would change the hash tag)");
  c.pool.window = Millis(window_ms);
  c.pool.timeout = Millis(timeout_ms);
  c.connect_timeout = Millis(connect_ms);
  c.cache.memory_bytes = static_cast<size_t>(memory_mb) << 20;
  c.tier.timeout = Millis(lookup_ms);
  c.tier.lease = Millis(lease_ms);
  c.cache.poll_max = Millis(poll_max_ms);
  c.cache.poll_min = std::min(c.cache.poll_min, c.cache.poll_max);
  c.cache.max_wait = std::max(c.cache.max_wait, c.pool.timeout + c.tier.lease);
  std::string kind;
  for (const auto& text : backends) {
    BackendFlag b;
    b.max_conns = 4;
    if (auto err = parseBackendFlag(text, {"hash", "openai"}, {"openai"}, b)) return fail(*err);
    if (b.kind.empty()) return fail("backend '" + text + "' needs kind=hash or kind=openai");
    if (auto err = readBackendKey(b)) return fail(*err);
    if (!kind.empty() && b.kind != kind)
      return fail("every --embed-backend must be of one kind (they must make the same vectors)");
    kind = b.kind;
    c.backends.push_back(std::move(b));
  }
  if (c.backends.empty()) {
    BackendFlag hash;
    hash.kind = hash.name = "hash";
    hash.max_conns = 64;
    c.backends.push_back(hash);
  }
  return std::nullopt;
}

int runEmbedding(EmbeddingConfig& c) {
  setupLogging("embeddings", c.common);
  zmq::context_t context(1);
  EventLoop loop;
  http::HttpClient http(loop);
  BackendPool pool(loop, c.pool);
  for (const auto& b : c.backends) {
    std::unique_ptr<EmbedBackend> backend;
    if (b.kind == "openai") {
      OpenAiEmbedOptions o;
      o.base_url = b.url;
      o.api_key = b.api_key;
      o.connect_timeout = c.connect_timeout;
      backend = std::make_unique<OpenAiEmbedBackend>(loop, http, std::move(o));
    } else {
      backend = std::make_unique<HashBackend>(loop, c.hash);
    }
    spdlog::info("backend {}: {}{}{}, max_conns {}{}", b.name, b.kind, b.url.empty() ? "" : " ",
                 b.url, b.max_conns, b.backup ? ", backup" : "");
    pool.add({b.name, b.models, b.weight, b.max_conns, b.backup}, std::move(backend));
  }
  std::unique_ptr<redis::SlotClient> redis;
  if (c.redis_enabled) redis = std::make_unique<redis::SlotClient>(loop, c.redis);
  RedisTier tier(loop, redis.get(), c.tier);
  EmbedCache cache(loop, tier, pool, c.cache);
  if (c.worker.models.empty()) c.worker.models = pool.models();
  Worker worker(context, loop, c.worker);
  EmbedService service(worker, cache, tier, pool, c.service);
  admin::AdminPlane admin(loop, c.common);
  admin.watchWorker(worker);
  admin.addMetrics([&service] { return service.metricsText(); });
  admin::watchBackends(admin, "sb_embed_backend_up", [&pool] { return pool.backends(); });
  // Not required: without Redis the cache still answers (memory tier and backends).
  if (redis) admin::watchRedis(admin, *redis, false);
  if (!admin.start()) return 1;
  if (redis) redis->start();
  // Serving starts at once: without Redis the cache answers from memory and the backends,
  // and takes Redis back when it answers again.
  return runWorker(worker, c.common.ready_fd);
}

}  // namespace sb::embedding
