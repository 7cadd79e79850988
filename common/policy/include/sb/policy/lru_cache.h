#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sb/policy/cache_stats.h"

namespace sb {

// Exact LRU bounded in bytes: the baseline TinyLfuCache is measured against. Same API; the key
// hash is accepted and ignored so the two are interchangeable in a benchmark.
template <class V>
class LruCache {
 public:
  using Stats = CacheStats;

  explicit LruCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // The value, or nullptr on a miss. The pointer is valid until the next put or erase.
  const V* get(std::string_view key, uint64_t /*hash*/) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    order_.splice(order_.end(), order_, it->second);
    return &it->second->value;
  }

  // Inserts or replaces. An entry heavier than the whole budget is refused (and an older value
  // under the key dropped, so a get never returns a value the caller has since replaced).
  void put(std::string key, uint64_t /*hash*/, V value, size_t weight) {
    auto it = index_.find(key);
    if (weight > max_bytes_) {
      ++stats_.rejected;
      if (it != index_.end()) remove(it);
      return;
    }
    if (it != index_.end()) {
      Node& n = *it->second;
      bytes_ = bytes_ - n.weight + weight;
      n.weight = weight;
      n.value = std::move(value);
      order_.splice(order_.end(), order_, it->second);
    } else {
      order_.push_back(Node{std::move(key), std::move(value), weight});
      auto node = std::prev(order_.end());
      index_.emplace(node->key, node);
      bytes_ += weight;
    }
    while (bytes_ > max_bytes_) {
      Node& victim = order_.front();
      ++stats_.evictions;
      stats_.evicted_bytes += victim.weight;
      remove(index_.find(victim.key));
    }
  }

  bool erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    remove(it);
    return true;
  }

  bool contains(std::string_view key) const { return index_.contains(key); }
  size_t bytes() const { return bytes_; }
  size_t size() const { return index_.size(); }
  size_t maxBytes() const { return max_bytes_; }
  const Stats& stats() const { return stats_; }

 private:
  struct Node {
    std::string key;
    V value;
    size_t weight;
  };
  using List = std::list<Node>;
  // Keyed by views of the nodes' own keys (list nodes never move), so a key is stored once
  // and lookups by string_view need no temporary string.
  using Index = std::unordered_map<std::string_view, typename List::iterator>;

  void remove(typename Index::iterator it) {
    auto node = it->second;
    bytes_ -= node->weight;
    index_.erase(it);
    order_.erase(node);
  }

  size_t max_bytes_;
  size_t bytes_ = 0;
  List order_;  // least recently used first
  Index index_;
  Stats stats_;
};

}  // namespace sb
