#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "embed_backend.h"
#include "sb/core/event_loop.h"
#include "sb/policy/backend_view.h"
#include "sb/policy/balancer.h"

namespace sb::embedding {

struct BackendSpec {
  std::string name;
  std::vector<std::string> models;  // served; empty = any
  uint32_t weight = 1;
  uint32_t max_conns = 4;  // batch calls at once
  bool backup = false;
};

struct PoolOptions {
  uint32_t max_batch = 32;     // texts in one backend call (TEI's max_client_batch_size)
  Millis window{2};            // how long a lone miss waits for others to share its call
  Millis timeout{30000};       // one backend call
  uint32_t max_tries = 2;      // backends tried for one batch
  size_t max_queued = 100000;  // texts waiting for a free backend; beyond: RESOURCE_EXHAUSTED
  FailurePolicy failure;
};

struct PoolCounters {
  uint64_t calls = 0;   // backend calls started
  uint64_t texts = 0;   // texts sent (retries count again)
  uint64_t failed = 0;  // calls that failed
  uint64_t retried = 0;
};

// The backends behind the cache and the batching in front of them. Each text to compute joins
// the queue of its (model, dimensions); a queue is sent as one backend call once it holds
// max_batch texts or its first text has waited `window`, to the least-loaded backend serving
// the model (the router's balancer code). While every backend is at max_conns, texts keep
// queueing and go in fuller batches when one frees up. A call failing with UNAVAILABLE is
// tried on another backend (max_tries).
class BackendPool {
 public:
  using Done = std::function<void(const proto::Status&, Embedding&&)>;

  BackendPool(EventLoop& loop, PoolOptions options);
  ~BackendPool();

  void add(BackendSpec spec, std::unique_ptr<EmbedBackend> backend);
  // `done` runs once, later (never from inside compute), unless the pool is destroyed first.
  void compute(const std::string& model, uint32_t dimensions, std::string text, Done done);

  // The key options of the backends (all backends of one pool must make the same vectors).
  std::string keyOptions() const;
  std::vector<std::string> models() const;  // every model served; empty if one serves any
  uint32_t capacity() const;                // the sum of max_conns
  const PoolCounters& counters() const { return counters_; }
  // Batch sizes sent, for the histogram: called once per backend call.
  void onBatch(std::function<void(size_t size, const std::string& backend)> fn) {
    on_batch_ = std::move(fn);
  }
  std::vector<BackendView> backends() const;
  size_t queued() const { return queued_; }

 private:
  struct Item {
    std::string text;
    Done done;
  };
  struct Group {
    std::string model;
    uint32_t dimensions = 0;
    std::deque<Item> items;
    LoopHandle window;
  };
  struct Flight {
    MemberId backend = 0;
    EmbedBackend::CallId call = 0;
    std::string model;
    uint32_t dimensions = 0;
    std::vector<Item> items;
    std::vector<MemberId> tried;
    LoopHandle timeout;
  };
  void flush(const std::string& key);
  void flushAll();
  void send(uint64_t flight_id);
  void onResult(uint64_t flight_id, EmbedResult&& result);
  static void fail(std::vector<Item>& items, const proto::Status& st);

  EventLoop& loop_;
  PoolOptions options_;
  LeastConnBalancer balancer_;
  std::vector<BackendSpec> specs_;
  std::vector<std::unique_ptr<EmbedBackend>> backends_;
  std::map<std::string, Group> groups_;
  std::unordered_map<uint64_t, Flight> flights_;
  uint64_t next_flight_ = 1;
  size_t queued_ = 0;
  PoolCounters counters_;
  std::function<void(size_t, const std::string&)> on_batch_;
};

}  // namespace sb::embedding
