#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <utility>

namespace sb::http {

// Which credentials a TLS listener serves, and how long replaced ones must stay: GnuTLS keeps
// pointers to what the certificate callback returned for as long as a session lives, so
// credentials replaced by a reload are kept until every connection that could have taken them
// is closed. A connection opened in generation G can only have been given generation G or a
// later one, so generation G goes once no connection opened in G or earlier is left.
template <class Credentials>
class TlsGenerations {
 public:
  using Ptr = std::shared_ptr<const Credentials>;
  explicit TlsGenerations(Ptr first) : current_(std::move(first)) {}

  const Credentials& current() const { return *current_; }
  // A connection opens: the generation to hand back to closed().
  uint64_t opened() {
    ++open_[generation_];
    return generation_;
  }
  void closed(uint64_t generation) {
    auto it = open_.find(generation);
    if (it == open_.end()) return;
    if (--it->second == 0) open_.erase(it);
    prune();
  }
  void replace(Ptr next) {
    retired_.emplace_back(generation_, std::move(current_));
    current_ = std::move(next);
    ++generation_;
    prune();
  }
  // Replaced credentials still kept for older connections.
  size_t retained() const { return retired_.size(); }

 private:
  void prune() {
    // The oldest connection still open decides: generations before its own are unreachable.
    while (!retired_.empty() && (open_.empty() || open_.begin()->first > retired_.front().first))
      retired_.pop_front();
  }

  Ptr current_;
  uint64_t generation_ = 0;
  std::map<uint64_t, size_t> open_;  // connections open, by the generation they opened in
  std::deque<std::pair<uint64_t, Ptr>> retired_;
};

}  // namespace sb::http
