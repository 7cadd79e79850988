#include "embed_cache.h"

#include <spdlog/spdlog.h>

#include "cached_vector.h"

namespace sb::embedding {

using proto::Status;

struct EmbedCache::Flight {
  Digest digest;
  KeySpace space;
  std::string text;
  std::vector<Waiter> waiters;
  std::string token;  // our lease, when we hold one
  TimePoint started{};
  Millis poll_delay{0};
  bool waited = false;  // found the lease held at least once
  LoopHandle poll;
  LoopHandle renew;
};

namespace {

// A memory entry's bytes: key, values, and the bookkeeping around them (list and map nodes,
// the shared pointer's control block), so the budget is what the process really spends.
size_t weight(const Embedding& e) { return 32 + e.values.size() * sizeof(float) + 160; }

constexpr size_t kMaxSpaces = 4096;

std::string spaceKey(const KeySpace& s) {
  return std::to_string(s.dimensions) + "/" + s.options + "/" + s.model;
}

}  // namespace

EmbedCache::EmbedCache(EventLoop& loop, RedisTier& redis, BackendPool& pool, CacheOptions options)
    : loop_(loop),
      redis_(redis),
      pool_(pool),
      options_(options),
      memory_(options.memory_bytes, std::max<size_t>(64, options.memory_bytes / 1800),
              loop.random()) {}

// The flights go with us; the callbacks that refer to them hold weak pointers only.
EmbedCache::~EmbedCache() = default;

EmbeddingPtr EmbedCache::fromMemory(const Digest& d) {
  const EmbeddingPtr* e = memory_.get(digestBytes(d), digestHash(d));
  return e ? *e : nullptr;
}

void EmbedCache::remember(const Digest& d, const EmbeddingPtr& e) {
  memory_.put(std::string(digestBytes(d)), digestHash(d), e, weight(*e));
}

uint32_t EmbedCache::expectedDim(const Flight& f) const {
  if (f.space.dimensions) return f.space.dimensions;
  auto it = dims_.find(spaceKey(f.space));
  return it == dims_.end() ? 0 : it->second;
}

void EmbedCache::fetch(const KeySpace& space, const Digest& d, std::string_view text,
                       Waiter waiter) {
  std::string id(digestBytes(d));
  auto it = flights_.find(id);
  if (it != flights_.end()) {
    ++counters_.joined;
    it->second->waiters.push_back(std::move(waiter));
    return;
  }
  auto f = std::make_shared<Flight>();
  f->digest = d;
  f->space = space;
  f->text = std::string(text);
  f->started = loop_.now();
  f->waiters.push_back(std::move(waiter));
  flights_.emplace(std::move(id), f);
  // Started on the next round: every lookup of this round goes out in one pipelined write,
  // and no waiter is ever called from inside fetch().
  loop_.post([this, w = std::weak_ptr<Flight>(f)] {
    if (auto f = w.lock()) lookup(f);
  });
}

void EmbedCache::lookup(const FlightPtr& f) {
  if (!redis_.usable()) {
    redis_.countSkipped();
    return compute(f, false);
  }
  redis_.get(f->digest, [this, w = std::weak_ptr<Flight>(f)](const Status& st, bool hit,
                                                             const std::string& value) {
    auto f = w.lock();
    if (!f) return;
    if (!st.ok()) return compute(f, false);
    if (hit) return found(f, value);
    claim(f);
  });
}

void EmbedCache::claim(const FlightPtr& f) {
  if (f->token.empty()) f->token = redis_.newToken();
  redis_.claim(f->digest, f->token,
               [this, w = std::weak_ptr<Flight>(f)](RedisTier::Claim c, const std::string& value) {
                 auto f = w.lock();
                 if (!f) return;
                 switch (c) {
                   case RedisTier::Claim::kValue:
                     return found(f, value);
                   case RedisTier::Claim::kLeased:
                     if (f->waited) ++counters_.takeovers;
                     return compute(f, true);
                   case RedisTier::Claim::kHeld:
                     return poll(f);
                   case RedisTier::Claim::kError:
                     return compute(f, false);
                 }
               });
}

void EmbedCache::poll(const FlightPtr& f) {
  if (!f->waited) {
    f->waited = true;
    ++counters_.lease_waits;
  }
  if (loop_.now() - f->started > options_.max_wait) {
    spdlog::warn("embedding: another instance held a lease for more than {} ms; computing here",
                 options_.max_wait.count());
    return compute(f, false);
  }
  f->poll_delay = f->poll_delay.count() == 0 ? options_.poll_min
                                             : std::min(options_.poll_max, f->poll_delay * 2);
  f->poll = loop_.after(f->poll_delay, [this, w = std::weak_ptr<Flight>(f)] {
    auto f = w.lock();
    if (!f) return;
    if (!redis_.usable()) return compute(f, false);
    claim(f);
  });
}

void EmbedCache::found(const FlightPtr& f, const std::string& value) {
  std::string why;
  EmbeddingPtr e = decodeCachedVector(value, f->digest, expectedDim(*f), why, options_.max_dim);
  if (e) return finish(f, {}, e, Source::kRedis);
  ++counters_.corrupt;
  spdlog::warn("embedding: cached value {} refused ({}); recomputing it",
               toHex(f->digest).substr(0, 16), why);
  compute(f, false);
}

void EmbedCache::compute(const FlightPtr& f, bool leased) {
  if (!leased) f->token.clear();
  if (leased) {
    Millis every = std::max(Millis(1), redis_.options().lease / 3);
    f->renew = loop_.every(every, [this, w = std::weak_ptr<Flight>(f)] {
      if (auto f = w.lock()) redis_.renew(f->digest, f->token);
    });
  }
  pool_.compute(f->space.model, f->space.dimensions, f->text,
                [this, w = std::weak_ptr<Flight>(f)](const Status& st, Embedding&& e) {
                  auto f = w.lock();
                  if (!f) return;
                  f->renew.cancel();
                  if (!st.ok()) {
                    ++counters_.failed;
                    if (f->token.empty() || !redis_.usable())
                      return finish(f, st, nullptr, Source::kComputed);
                    // The lease goes before the failure is reported, so a caller's retry (on
                    // any instance) computes at once instead of waiting for it to run out.
                    redis_.release(f->digest, f->token, [this, w, st] {
                      if (auto f = w.lock()) finish(f, st, nullptr, Source::kComputed);
                    });
                    return;
                  }
                  ++counters_.computed;
                  auto shared = std::make_shared<Embedding>(std::move(e));
                  // (Model names come from clients: the map is bounded.)
                  if (dims_.size() < kMaxSpaces || dims_.count(spaceKey(f->space)))
                    dims_[spaceKey(f->space)] = static_cast<uint32_t>(shared->values.size());
                  if (redis_.usable())
                    redis_.store(f->digest, encodeCachedVector(f->digest, *shared), f->token);
                  finish(f, {}, shared, Source::kComputed);
                });
}

void EmbedCache::finish(const FlightPtr& f, const Status& st, const EmbeddingPtr& e, Source src) {
  if (e) remember(f->digest, e);
  f->poll.cancel();
  f->renew.cancel();
  // A copy: `f` may be the map's own reference, which the erase destroys.
  FlightPtr keep = f;  // NOLINT(performance-unnecessary-copy-initialization)
  flights_.erase(std::string(digestBytes(f->digest)));
  auto waiters = std::move(keep->waiters);
  for (auto& w : waiters) w(st, e, src);
}

}  // namespace sb::embedding
