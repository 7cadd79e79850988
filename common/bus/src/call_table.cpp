#include "call_table.h"

namespace sb {

std::string CallTable::key(size_t link, std::string_view envelope, uint64_t id) {
  std::string key;
  key.reserve(1 + envelope.size() + sizeof(id));
  key.push_back(static_cast<char>(link));
  key.append(envelope);
  key.append(reinterpret_cast<const char*>(&id), sizeof(id));
  return key;
}

bool CallTable::add(const CallPtr& call) { return calls_.emplace(call->key_, call).second; }

void CallTable::remove(const Call& call) {
  auto it = calls_.find(call.key_);
  // Only the call that owns the key: a refused duplicate carries the same key.
  if (it != calls_.end() && (it->second.expired() || it->second.lock().get() == &call)) {
    calls_.erase(it);
  }
}

CallPtr CallTable::find(const std::string& key) const {
  auto it = calls_.find(key);
  return it == calls_.end() ? nullptr : it->second.lock();
}

std::vector<CallPtr> CallTable::on(size_t link) const {
  std::vector<CallPtr> out;
  for (const auto& [key, weak] : calls_) {
    if (auto c = weak.lock(); c && c->link_ == link) out.push_back(std::move(c));
  }
  return out;
}

std::vector<CallPtr> CallTable::all() const {
  std::vector<CallPtr> out;
  out.reserve(calls_.size());
  for (const auto& [key, weak] : calls_) {
    if (auto c = weak.lock()) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace sb
