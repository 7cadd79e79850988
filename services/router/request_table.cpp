#include "request_table.h"

namespace sb::router {

std::string RequestTable::key(std::string_view client, uint64_t id) {
  std::string key;
  key.reserve(client.size() + sizeof(id));
  key.append(client);
  key.append(reinterpret_cast<const char*>(&id), sizeof(id));
  return key;
}

Request* RequestTable::find(const std::string& key) {
  auto it = requests_.find(key);
  return it == requests_.end() ? nullptr : &it->second;
}

Request& RequestTable::insert(const std::string& key) {
  Request& r = requests_[key];
  r.seq = next_seq_++;
  return r;
}

std::vector<std::string> RequestTable::on(MemberId worker) const {
  std::vector<std::string> keys;
  for (const auto& [key, r] : requests_) {
    if (r.worker == worker) keys.push_back(key);
  }
  return keys;
}

bool RequestTable::noteDeadline(TimePoint when) {
  if (when >= earliest_) return false;
  earliest_ = when;
  return true;
}

// A scan of the (bounded) table, run only when the earliest known deadline is due: cheaper
// than keeping every request in a timer heap until its deadline passes.
std::vector<std::string> RequestTable::expired(TimePoint now) {
  std::vector<std::string> out;
  earliest_ = TimePoint::max();
  for (const auto& [key, r] : requests_) {
    if (r.deadline <= now)
      out.push_back(key);
    else
      earliest_ = std::min(earliest_, r.deadline);
  }
  return out;
}

std::vector<std::string> RequestTable::keys() const {
  std::vector<std::string> out;
  out.reserve(requests_.size());
  for (const auto& [key, r] : requests_) out.push_back(key);
  return out;
}

}  // namespace sb::router
