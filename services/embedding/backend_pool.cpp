#include "backend_pool.h"

#include <spdlog/spdlog.h>

namespace sb::embedding {

using proto::ErrorCode;
using proto::Status;

namespace {

std::string groupKey(const std::string& model, uint32_t dimensions) {
  return std::to_string(dimensions) + "/" + model;
}

}  // namespace

BackendPool::BackendPool(EventLoop& loop, PoolOptions options)
    : loop_(loop), options_(options), balancer_(loop.clock(), loop.random(), options.failure) {}

BackendPool::~BackendPool() {
  // No callback from a destructor: the backends' calls are cancelled, the waiting dropped.
  for (auto& [id, f] : flights_) backends_[f.backend]->cancel(f.call);
}

void BackendPool::add(BackendSpec spec, std::unique_ptr<EmbedBackend> backend) {
  MemberSpec m;
  m.weight = spec.weight;
  m.capacity = spec.max_conns;
  m.backup = spec.backup;
  m.tags = spec.models;
  balancer_.upsert(backends_.size(), m);
  specs_.push_back(std::move(spec));
  backends_.push_back(std::move(backend));
}

std::string BackendPool::keyOptions() const {
  return backends_.empty() ? "" : backends_.front()->keyOptions();
}

std::vector<std::string> BackendPool::models() const {
  std::vector<std::string> all;
  for (const auto& s : specs_) {
    if (s.models.empty()) return {};
    all.insert(all.end(), s.models.begin(), s.models.end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

uint32_t BackendPool::capacity() const {
  uint32_t n = 0;
  for (const auto& s : specs_) n += s.max_conns;
  return n;
}

std::vector<BackendView> BackendPool::backends() const {
  std::vector<BackendView> out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    out.push_back(balancer_.view(i, specs_[i].name, specs_[i].max_conns));
  }
  return out;
}

void BackendPool::compute(const std::string& model, uint32_t dimensions, std::string text,
                          Done done) {
  if (queued_ >= options_.max_queued) {
    loop_.post([d = std::move(done)] {
      d(Status::error(ErrorCode::kResourceExhausted, "too many texts waiting for a backend"),
        Embedding{});
    });
    return;
  }
  std::string key = groupKey(model, dimensions);
  Group& g = groups_[key];
  g.model = model;
  g.dimensions = dimensions;
  g.items.push_back({std::move(text), std::move(done)});
  ++queued_;
  if (g.items.size() >= options_.max_batch) {
    g.window.cancel();
    flush(key);
  } else if (!g.window) {
    g.window = loop_.after(options_.window, [this, key] { flush(key); });
  }
}

void BackendPool::flush(const std::string& key) {
  auto it = groups_.find(key);
  if (it == groups_.end()) return;
  Group& g = it->second;
  while (!g.items.empty()) {
    auto member = balancer_.select(g.model);
    if (!member) {
      // Every backend serving the model is at max_conns (cooling down does not stop them:
      // the balancer uses cooling members when nothing else can serve, Envoy's panic mode):
      // one finishing flushes again. A model no backend serves fails now.
      const auto& members = balancer_.members();
      if (std::any_of(members.begin(), members.end(),
                      [&](const MemberState& m) { return m.serves(g.model); }))
        return;
      std::vector<Item> items(std::make_move_iterator(g.items.begin()),
                              std::make_move_iterator(g.items.end()));
      queued_ -= items.size();
      g.items.clear();
      // (flush may run inside compute, which never calls back itself)
      loop_.post([items = std::move(items), model = g.model]() mutable {
        fail(items, Status::error(ErrorCode::kNotFound,
                                  "no embedding backend serves model '" + model + "'"));
      });
      break;
    }
    uint64_t id = next_flight_++;
    Flight& f = flights_[id];
    f.model = g.model;
    f.dimensions = g.dimensions;
    size_t n = std::min<size_t>(g.items.size(), options_.max_batch);
    for (size_t i = 0; i < n; ++i) {
      f.items.push_back(std::move(g.items.front()));
      g.items.pop_front();
    }
    queued_ -= n;
    f.backend = *member;
    send(id);
  }
  g.window.cancel();
  groups_.erase(it);
}

void BackendPool::flushAll() {
  std::vector<std::string> keys;
  for (const auto& [k, g] : groups_) {
    if (!g.window) keys.push_back(k);  // (a group still in its window goes when it closes)
  }
  for (const auto& k : keys) flush(k);
}

void BackendPool::send(uint64_t flight_id) {
  Flight& f = flights_[flight_id];
  EmbedBatch batch;
  batch.model = f.model;
  batch.dimensions = f.dimensions;
  batch.texts.reserve(f.items.size());
  for (const auto& item : f.items) batch.texts.push_back(item.text);
  f.tried.push_back(f.backend);
  balancer_.onStart(f.backend);
  ++counters_.calls;
  counters_.texts += batch.texts.size();
  if (on_batch_) on_batch_(batch.texts.size(), specs_[f.backend].name);
  f.timeout = loop_.after(options_.timeout, [this, flight_id] {
    auto it = flights_.find(flight_id);
    if (it == flights_.end()) return;
    backends_[it->second.backend]->cancel(it->second.call);
    onResult(
        flight_id,
        EmbedResult{Status::error(ErrorCode::kUnavailable, "backend did not answer in time"), {}});
  });
  f.call = backends_[f.backend]->embed(
      batch, [this, flight_id](EmbedResult&& r) { onResult(flight_id, std::move(r)); });
}

void BackendPool::onResult(uint64_t flight_id, EmbedResult&& result) {
  auto it = flights_.find(flight_id);
  if (it == flights_.end()) return;
  Flight& f = it->second;
  f.timeout.cancel();
  bool backend_fault = result.status.code == ErrorCode::kUnavailable;
  balancer_.onFinish(f.backend, result.status.ok() ? Outcome::kSuccess
                                : backend_fault    ? Outcome::kFailure
                                                   : Outcome::kNeutral);
  if (!result.status.ok()) {
    ++counters_.failed;
    spdlog::warn("embedding backend {}: {} texts failed: {}", specs_[f.backend].name,
                 f.items.size(), result.status.message);
    std::optional<MemberId> next;
    if (backend_fault && f.tried.size() < options_.max_tries)
      next = balancer_.select(f.model, f.tried);
    if (next) {
      ++counters_.retried;
      f.backend = *next;
      send(flight_id);
      return;
    }
    std::vector<Item> items = std::move(f.items);
    flights_.erase(it);
    fail(items, result.status);
  } else {
    std::vector<Item> items = std::move(f.items);
    flights_.erase(it);
    for (size_t i = 0; i < items.size(); ++i)
      items[i].done(Status::okStatus(), std::move(result.vectors[i]));
  }
  flushAll();
}

void BackendPool::fail(std::vector<Item>& items, const Status& st) {
  for (auto& item : items) item.done(st, Embedding{});
}

}  // namespace sb::embedding
