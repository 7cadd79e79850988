#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace sb::router {

// The requests of one service waiting for a worker, oldest first. A request that ends while
// queued (deadline, cancel) is only counted out (forget()); its entry is dropped when the
// queue next walks past it, recognised by the request's sequence number no longer matching.
class ServiceQueue {
 public:
  enum class Offer : uint8_t {
    kTaken,  // dispatched: leaves the queue
    kSkip,   // cannot go now (its model has no free worker): stays, later ones are offered
    kStop,   // nothing can go now: stop walking
  };

  void push(std::string key, uint64_t seq) {
    entries_.emplace_back(std::move(key), seq);
    ++live_;
  }
  // Back at the head (a request whose worker died, to go again first).
  void pushFront(std::string key, uint64_t seq) {
    entries_.emplace_front(std::move(key), seq);
    ++live_;
  }
  void forget() { --live_; }
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

  // Offers the live requests in order: `is_live(key, seq)` tells a queued request from a stale
  // entry; `offer(key)` tries to dispatch it, and must not push to this queue. FIFO, except
  // that a request whose model no worker can take now does not block the ones behind it.
  template <typename IsLive, typename OfferFn>
  void pump(IsLive is_live, OfferFn offer) {
    for (size_t i = 0; i < entries_.size() && live_ > 0;) {
      const auto& [key, seq] = entries_[i];
      if (!is_live(key, seq)) {
        entries_.erase(entries_.begin() + static_cast<long>(i));
        continue;
      }
      Offer o = offer(key);
      if (o == Offer::kStop) return;
      if (o == Offer::kSkip) {
        ++i;
        continue;
      }
      entries_.erase(entries_.begin() + static_cast<long>(i));
      --live_;
    }
  }
  // Every live request, oldest first (to fail them all).
  template <typename IsLive>
  std::deque<std::string> drainLive(IsLive is_live) {
    std::deque<std::string> out;
    for (const auto& [key, seq] : entries_) {
      if (is_live(key, seq)) out.push_back(key);
    }
    entries_.clear();
    live_ = 0;
    return out;
  }

 private:
  std::deque<std::pair<std::string, uint64_t>> entries_;
  size_t live_ = 0;
};

}  // namespace sb::router
