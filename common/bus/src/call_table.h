#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sb/bus/worker.h"

namespace sb {

// The calls a worker is serving, by (router link, client envelope, request id). The table
// does not own them: handlers do, and a call leaves the table when it ends. Whoever runs
// callbacks over calls takes a snapshot of strong references first (on(), all()): a callback
// may end or release any call, including ones later in the same loop, and they must stay
// valid until the loop is done with them (docs/lifetimes.md).
class CallTable {
 public:
  static std::string key(size_t link, std::string_view envelope, uint64_t id);

  // False when the key is taken (that request id is already in flight from that client).
  bool add(const CallPtr& call);
  void remove(const Call& call);
  CallPtr find(const std::string& key) const;
  std::vector<CallPtr> on(size_t link) const;
  std::vector<CallPtr> all() const;
  size_t size() const { return calls_.size(); }

 private:
  std::unordered_map<std::string, std::weak_ptr<Call>> calls_;
};

}  // namespace sb
