#include "embed_service.h"

#include <nlohmann/json.hpp>

#include "sb/core/json_body.h"
#include "sb/proto/body_codec.h"

namespace sb::embedding {

using proto::ErrorCode;
using proto::Status;

const char* sourceName(Source s) {
  switch (s) {
    case Source::kMemory:
      return "memory";
    case Source::kRedis:
      return "redis";
    case Source::kComputed:
      return "computed";
  }
  return "?";
}

// One request while its inputs arrive. The flights it waits on hold it; the call's cancel
// callback and the service do not, so a request that ended is simply never answered twice.
struct EmbedService::Pending {
  CallPtr call;
  std::string model;
  std::vector<EmbeddingPtr> vectors;
  std::vector<Source> sources;
  size_t remaining = 0;
  bool done = false;

  void set(size_t i, const Status& st, const EmbeddingPtr& e, Source src) {
    if (done) return;
    if (!st.ok()) {
      done = true;
      return call->fail(st.code, st.message);
    }
    vectors[i] = e;
    sources[i] = src;
    if (--remaining == 0) answer();
  }

  void answer() {
    done = true;
    size_t dim = vectors.front()->values.size();
    uint64_t tokens = 0;
    for (const auto& v : vectors) {
      if (v->values.size() != dim) {
        return call->fail(ErrorCode::kInternal,
                          "vectors of different dimensions for one request (" +
                              std::to_string(dim) + " and " + std::to_string(v->values.size()) +
                              "): the backends of this model disagree");
      }
      tokens += v->tokens;
    }
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(6);
    pk.pack("model"), pk.pack(model);
    pk.pack("dim"), pk.pack(static_cast<uint64_t>(dim));
    pk.pack("vectors"), pk.pack_array(static_cast<uint32_t>(vectors.size()));
    for (const auto& v : vectors) {
      auto bytes = static_cast<uint32_t>(v->values.size() * sizeof(float));
      pk.pack_bin(bytes);
      pk.pack_bin_body(reinterpret_cast<const char*>(v->values.data()), bytes);
    }
    pk.pack("sources"), pk.pack_array(static_cast<uint32_t>(sources.size()));
    for (Source s : sources) pk.pack(sourceName(s));
    pk.pack("tokens"), pk.pack_array(static_cast<uint32_t>(vectors.size()));
    for (const auto& v : vectors) pk.pack(static_cast<uint64_t>(v->tokens));
    pk.pack("usage"), pk.pack_map(2);
    pk.pack("prompt_tokens"), pk.pack(tokens);
    pk.pack("total_tokens"), pk.pack(tokens);
    call->reply({buf.data(), buf.size()});
  }
};

EmbedService::EmbedService(Worker& worker, EmbedCache& cache, RedisTier& redis, BackendPool& pool,
                           ServiceOptions options)
    : worker_(worker), cache_(cache), redis_(redis), pool_(pool), options_(std::move(options)) {
  worker_.handle("embed", [this](const CallPtr& c) { embed(c); });
  worker_.handle("status", [this](const CallPtr& c) { c->reply(statusBody()); });
  worker_.handle("metrics", [this](const CallPtr& c) { c->reply(proto::packBody(metricsText())); });
  Histogram& batches = metrics_.histogram("sb_embed_backend_batch_size", "Texts per backend call",
                                          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  pool_.onBatch([&batches](size_t n, const std::string&) { batches.observe(double(n)); });
}

EmbedService::~EmbedService() { pool_.onBatch(nullptr); }

void EmbedService::embed(const CallPtr& call) {
  msgpack::object_handle oh;
  if (Status st = call->decodeBody(oh); !st.ok()) return call->fail(st.code, st.message);
  EmbedRequest req;
  if (Status st = parseEmbedRequest(oh.get(), call->model(), options_.limits, req); !st.ok())
    return call->fail(st.code, st.message);
  ++requests_;
  inputs_ += req.inputs.size();
  KeySpace space{req.model, req.dimensions, pool_.keyOptions()};
  if (!options_.key_namespace.empty()) space.options += "/ns=" + options_.key_namespace;
  auto p = std::make_shared<Pending>();
  p->call = call;
  p->model = req.model;
  p->vectors.resize(req.inputs.size());
  p->sources.resize(req.inputs.size(), Source::kMemory);
  p->remaining = req.inputs.size();
  std::weak_ptr<Pending> weak = p;
  call->onCancel([weak] {
    if (auto p = weak.lock()) p->done = true;
  });
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    Digest d = cacheDigest(space, req.inputs[i]);
    if (EmbeddingPtr e = cache_.fromMemory(d)) {
      ++sources_.memory;
      p->set(i, {}, e, Source::kMemory);
      continue;
    }
    cache_.fetch(space, d, req.inputs[i],
                 [this, p, i](const Status& st, const EmbeddingPtr& e, Source src) {
                   if (st.ok()) ++(src == Source::kRedis ? sources_.redis : sources_.computed);
                   p->set(i, st, e, src);
                 });
  }
}

std::string EmbedService::statusBody() const {
  using json = nlohmann::json;
  const auto& m = cache_.memory();
  const auto& ms = m.stats();
  const auto& rc = redis_.counters();
  const auto& cc = cache_.counters();
  const auto& pc = pool_.counters();
  json backends = json::array();
  for (const auto& b : pool_.backends())
    backends.push_back(
        {{"name", b.name}, {"inflight", b.inflight}, {"cooling_down", b.cooling_down}});
  json j = {
      {"memory",
       {{"bytes", m.bytes()},
        {"max_bytes", m.maxBytes()},
        {"entries", m.size()},
        {"hits", ms.hits},
        {"misses", ms.misses},
        {"evictions", ms.evictions}}},
      {"redis",
       {{"enabled", redis_.enabled()},
        {"ready", redis_.usable()},
        {"hits", rc.hits},
        {"misses", rc.misses},
        {"errors", rc.errors},
        {"skipped", rc.skipped}}},
      {"inputs",
       {{"memory", sources_.memory}, {"redis", sources_.redis}, {"computed", sources_.computed}}},
      {"flights",
       {{"running", cache_.flights()},
        {"joined", cc.joined},
        {"lease_waits", cc.lease_waits},
        {"takeovers", cc.takeovers},
        {"corrupt", cc.corrupt},
        {"computed", cc.computed},
        {"failed", cc.failed}}},
      {"backend",
       {{"calls", pc.calls},
        {"texts", pc.texts},
        {"failed", pc.failed},
        {"retried", pc.retried},
        {"queued", pool_.queued()},
        {"backends", backends}}},
      {"requests", requests_},
  };
  return packJsonValue(j);
}

std::string EmbedService::metricsText() {
  const auto& m = cache_.memory();
  const auto& ms = m.stats();
  metrics_.gauge("sb_embed_memory_bytes", "Bytes held by the memory tier").set(double(m.bytes()));
  metrics_.gauge("sb_embed_memory_max_bytes", "The memory tier's byte budget")
      .set(double(m.maxBytes()));
  metrics_.gauge("sb_embed_memory_entries", "Vectors held by the memory tier")
      .set(double(m.size()));
  metrics_.counter("sb_embed_memory_hits_total", "Memory tier lookups that hit")
      .mirror(double(ms.hits));
  metrics_.counter("sb_embed_memory_misses_total", "Memory tier lookups that missed")
      .mirror(double(ms.misses));
  metrics_.counter("sb_embed_memory_evictions_total", "Vectors evicted from the memory tier")
      .mirror(double(ms.evictions));
  double lookups = double(ms.hits + ms.misses);
  metrics_.gauge("sb_embed_memory_hit_ratio", "Memory tier hits / lookups since start")
      .set(lookups > 0 ? double(ms.hits) / lookups : 0);
  const auto& rc = redis_.counters();
  metrics_.counter("sb_embed_redis_hits_total", "Redis tier lookups that hit")
      .mirror(double(rc.hits));
  metrics_.counter("sb_embed_redis_misses_total", "Redis tier lookups that missed")
      .mirror(double(rc.misses));
  metrics_
      .counter("sb_embed_redis_errors_total", "Redis commands that failed (served without Redis)")
      .mirror(double(rc.errors));
  metrics_.counter("sb_embed_redis_skipped_total", "Lookups that skipped Redis: it was not ready")
      .mirror(double(rc.skipped));
  metrics_.gauge("sb_embed_redis_up", "1 while the Redis tier is usable").set(redis_.usable());
  for (auto [src, n] : {std::pair{"memory", sources_.memory}, std::pair{"redis", sources_.redis},
                        std::pair{"computed", sources_.computed}}) {
    metrics_
        .counter("sb_embed_inputs_total", "Inputs answered, by where the vector came from",
                 {{"source", src}})
        .mirror(double(n));
  }
  const auto& cc = cache_.counters();
  metrics_
      .counter("sb_embed_singleflight_joins_total",
               "Lookups that joined a computation already running in this process")
      .mirror(double(cc.joined));
  metrics_
      .counter("sb_embed_lease_waits_total",
               "Computations left to another instance holding the lease")
      .mirror(double(cc.lease_waits));
  metrics_
      .counter("sb_embed_lease_takeovers_total",
               "Computations taken over after another instance's lease ran out")
      .mirror(double(cc.takeovers));
  metrics_.counter("sb_embed_corrupt_values_total", "Cached values refused and recomputed")
      .mirror(double(cc.corrupt));
  const auto& pc = pool_.counters();
  metrics_.counter("sb_embed_backend_calls_total", "Batched backend calls")
      .mirror(double(pc.calls));
  metrics_.counter("sb_embed_backend_texts_total", "Texts sent to backends")
      .mirror(double(pc.texts));
  metrics_.counter("sb_embed_backend_failures_total", "Backend calls that failed")
      .mirror(double(pc.failed));
  metrics_.gauge("sb_embed_backend_queue", "Texts waiting for a free backend")
      .set(double(pool_.queued()));
  return metrics_.render();
}

}  // namespace sb::embedding
