#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sb/core/clock.h"
#include "sb/policy/cache_stats.h"
#include "sb/policy/count_min_sketch.h"

namespace sb {

// W-TinyLFU (Caffeine's eviction policy) bounded in bytes. New entries enter a small LRU
// window (1 % of the budget) so a burst of new keys can build up a frequency; what the window
// pushes out is a candidate for the main space, a segmented LRU (probation, then protected at
// most 80 % of main, entered on a second hit). A candidate is admitted only if the frequency
// sketch says it is used more than main's next victim, so one-time keys (a scan) pass through
// the window without flushing the popular entries.
//
// Each entry has a caller-given weight in bytes (key + value + overhead); bytes() <= maxBytes()
// holds after every call. Not thread-safe.
template <class V>
class TinyLfuCache {
 public:
  using Stats = CacheStats;

  // Candidates this popular are admitted at random (1 in 128) even when they do not beat the
  // victim: an attacker who floods the victim's counters with colliding keys cannot then keep
  // every new entry out (Caffeine's hash-flooding defence).
  static constexpr uint32_t kRandomAdmitFrequency = 6;
  static constexpr uint64_t kRandomAdmitOdds = 128;

  // `expected_entries` sizes the sketch: about max_bytes / typical weight.
  TinyLfuCache(size_t max_bytes, size_t expected_entries, Random& random)
      : max_bytes_(max_bytes),
        window_max_(max_bytes - percent(max_bytes, 99)),
        protected_max_(percent(max_bytes - window_max_, 80)),
        sketch_(expected_entries),
        random_(random) {}
  TinyLfuCache(const TinyLfuCache&) = delete;
  TinyLfuCache& operator=(const TinyLfuCache&) = delete;

  // The value, or nullptr on a miss. Every lookup, hit or miss, counts in the sketch: a key
  // that misses often is exactly one worth admitting when it is next put. The pointer is valid
  // until the next put or erase.
  const V* get(std::string_view key, uint64_t hash) {
    sketch_.increment(hash);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    onAccess(it->second);
    return &it->second->value;
  }

  // Inserts or replaces (re-weighing; a replace counts as an access but not as a lookup). An
  // entry heavier than the whole budget is refused, and an older value under the key dropped.
  void put(std::string key, uint64_t hash, V value, size_t weight) {
    auto it = index_.find(key);
    if (weight > max_bytes_) {
      ++stats_.rejected;
      if (it != index_.end()) remove(it->second);
      return;
    }
    if (it != index_.end()) {
      auto node = it->second;
      segmentBytes(node->segment) -= node->weight;
      segmentBytes(node->segment) += weight;
      bytes_ = bytes_ - node->weight + weight;
      node->weight = weight;
      node->value = std::move(value);
      onAccess(node);
    } else {
      window_.push_back(Node{std::move(key), std::move(value), hash, weight, Segment::kWindow});
      auto node = std::prev(window_.end());
      index_.emplace(node->key, node);
      window_bytes_ += weight;
      bytes_ += weight;
    }
    evict();
  }

  bool erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    remove(it->second);
    return true;
  }

  bool contains(std::string_view key) const { return index_.contains(key); }
  size_t bytes() const { return bytes_; }
  size_t size() const { return index_.size(); }
  size_t maxBytes() const { return max_bytes_; }
  size_t windowBytes() const { return window_bytes_; }
  size_t windowMaxBytes() const { return window_max_; }
  size_t protectedBytes() const { return protected_bytes_; }
  size_t protectedMaxBytes() const { return protected_max_; }
  const Stats& stats() const { return stats_; }
  const CountMinSketch& sketch() const { return sketch_; }

 private:
  enum class Segment : uint8_t { kWindow, kProbation, kProtected };
  struct Node {
    std::string key;
    V value;
    uint64_t hash;
    size_t weight;
    Segment segment;
  };
  using List = std::list<Node>;  // each segment least recently used first
  using Iter = typename List::iterator;

  // p % of n, rounded down, without overflowing for any n.
  static size_t percent(size_t n, size_t p) { return n / 100 * p + n % 100 * p / 100; }

  List& segmentList(Segment s) {
    return s == Segment::kWindow ? window_ : s == Segment::kProbation ? probation_ : protected_;
  }
  size_t& segmentBytes(Segment s) {
    return s == Segment::kWindow      ? window_bytes_
           : s == Segment::kProbation ? probation_bytes_
                                      : protected_bytes_;
  }

  void moveTo(Iter node, Segment to) {
    List& from = segmentList(node->segment);
    segmentBytes(node->segment) -= node->weight;
    segmentList(to).splice(segmentList(to).end(), from, node);
    node->segment = to;
    segmentBytes(to) += node->weight;
  }

  void onAccess(Iter node) {
    switch (node->segment) {
      case Segment::kWindow:
      case Segment::kProtected:
        moveTo(node, node->segment);
        break;
      case Segment::kProbation:
        // An entry that could never fit in protected stays in probation (Caffeine's rule).
        moveTo(node, node->weight > protected_max_ ? Segment::kProbation : Segment::kProtected);
        break;
    }
    // Protected's overflow goes back to probation: it is demoted, not evicted, so it gets to
    // compete with candidates again.
    while (protected_bytes_ > protected_max_) moveTo(protected_.begin(), Segment::kProbation);
  }

  // Pushes the window's overflow into probation as candidates, then evicts until the budget
  // holds: each candidate, oldest first, is compared with main's next victim and the loser
  // goes; a heavy candidate may have to beat several victims before it fits.
  void evict() {
    Iter candidate = probation_.end();
    while (window_bytes_ > window_max_) {
      Iter node = window_.begin();
      moveTo(node, Segment::kProbation);
      if (candidate == probation_.end()) candidate = node;
    }
    while (bytes_ > max_bytes_) {
      if (candidate == probation_.end()) {
        // No candidate left (or a replace grew an entry): plain eviction, main first.
        evictOne(!probation_.empty()   ? probation_.begin()
                 : !protected_.empty() ? protected_.begin()
                                       : window_.begin());
        continue;
      }
      // Candidates are probation's most recent suffix; a victim must come from before it.
      bool in_probation = probation_.begin() != candidate;
      if (!in_probation && protected_.empty()) {
        evictOne(candidate++);  // main holds nothing else: the window's share is all there is
        continue;
      }
      Iter victim = in_probation ? probation_.begin() : protected_.begin();
      if (admit(*candidate, *victim)) {
        evictOne(victim);
      } else {
        ++stats_.rejected;
        evictOne(candidate++);
      }
    }
  }

  bool admit(const Node& candidate, const Node& victim) {
    uint32_t c = sketch_.frequency(candidate.hash);
    if (c > sketch_.frequency(victim.hash)) return true;
    return c >= kRandomAdmitFrequency && random_.below(kRandomAdmitOdds) == 0;
  }

  void evictOne(Iter node) {
    ++stats_.evictions;
    stats_.evicted_bytes += node->weight;
    remove(node);
  }

  void remove(Iter node) {
    segmentBytes(node->segment) -= node->weight;
    bytes_ -= node->weight;
    index_.erase(std::string_view(node->key));
    segmentList(node->segment).erase(node);
  }

  size_t max_bytes_;
  size_t window_max_;
  size_t protected_max_;
  size_t bytes_ = 0;
  size_t window_bytes_ = 0;
  size_t probation_bytes_ = 0;
  size_t protected_bytes_ = 0;
  List window_;
  List probation_;
  List protected_;
  // Keyed by views of the nodes' own keys (list nodes never move, splice included), so a key
  // is stored once and string_view lookups need no temporary string.
  std::unordered_map<std::string_view, Iter> index_;
  CountMinSketch sketch_;
  Random& random_;
  Stats stats_;
};

}  // namespace sb
