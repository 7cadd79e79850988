#include "sb/redis/slot_map.h"

namespace sb::redis {

using proto::ErrorCode;
using proto::Status;

SlotMap::SlotMap() { slot_to_shard_.fill(-1); }

SlotMap SlotMap::single(const Node& node) { return split({node}); }

SlotMap SlotMap::split(const std::vector<Node>& nodes) {
  SlotMap m;
  if (nodes.empty()) return m;
  size_t n = nodes.size();
  for (size_t i = 0; i < n; ++i) {
    int idx = m.addShard({nodes[i], {}});
    size_t first = i * kSlotCount / n;
    size_t last = (i + 1) * kSlotCount / n;  // exclusive
    for (size_t s = first; s < last; ++s) m.slot_to_shard_[s] = static_cast<int16_t>(idx);
  }
  return m;
}

int SlotMap::addShard(Shard shard) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i].master == shard.master) {
      if (!shard.replicas.empty()) shards_[i].replicas = std::move(shard.replicas);
      return static_cast<int>(i);
    }
  }
  shards_.push_back(std::move(shard));
  return static_cast<int>(shards_.size() - 1);
}

namespace {

bool nodeFrom(const Reply& r, const std::string& fallback_host, Node& out) {
  if (r.type != Reply::Type::kArray || r.elements.size() < 2) return false;
  const Reply& host = r.elements[0];
  const Reply& port = r.elements[1];
  if (host.type != Reply::Type::kString || port.type != Reply::Type::kInteger) return false;
  out.host = host.str.empty() || host.str == "?" ? fallback_host : host.str;
  out.port = static_cast<int>(port.integer);
  return out.port > 0 && out.port < 65536;
}

}  // namespace

Status SlotMap::fromClusterSlots(const Reply& reply, const std::string& fallback_host,
                                 SlotMap& out) {
  out = SlotMap();
  if (reply.type != Reply::Type::kArray) {
    return Status::error(ErrorCode::kInternal, "CLUSTER SLOTS did not return an array");
  }
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != Reply::Type::kInteger ||
        range.elements[1].type != Reply::Type::kInteger) {
      return Status::error(ErrorCode::kInternal, "malformed CLUSTER SLOTS entry");
    }
    int64_t first = range.elements[0].integer, last = range.elements[1].integer;
    if (first < 0 || last >= kSlotCount || first > last) {
      return Status::error(ErrorCode::kInternal, "CLUSTER SLOTS range out of bounds");
    }
    Shard shard;
    if (!nodeFrom(range.elements[2], fallback_host, shard.master)) {
      return Status::error(ErrorCode::kInternal, "malformed CLUSTER SLOTS node");
    }
    for (size_t i = 3; i < range.elements.size(); ++i) {
      Node replica;
      if (nodeFrom(range.elements[i], fallback_host, replica)) shard.replicas.push_back(replica);
    }
    int idx = out.addShard(std::move(shard));
    for (int64_t s = first; s <= last; ++s) out.slot_to_shard_[s] = static_cast<int16_t>(idx);
  }
  return {};
}

const Shard* SlotMap::shardFor(uint16_t slot) const {
  int16_t idx = slot_to_shard_[slot & 0x3FFF];
  return idx < 0 ? nullptr : &shards_[idx];
}

void SlotMap::moveSlot(uint16_t slot, const Node& node) {
  int idx = addShard({node, {}});
  slot_to_shard_[slot & 0x3FFF] = static_cast<int16_t>(idx);
}

bool SlotMap::complete() const {
  for (int16_t idx : slot_to_shard_) {
    if (idx < 0) return false;
  }
  return true;
}

std::vector<SlotRange> SlotMap::ranges() const {
  std::vector<SlotRange> out;
  for (uint32_t s = 0; s < kSlotCount; ++s) {
    int16_t idx = slot_to_shard_[s];
    if (idx < 0) continue;
    if (!out.empty() && out.back().last + 1u == s && out.back().shard == &shards_[idx]) {
      out.back().last = static_cast<uint16_t>(s);
    } else {
      out.push_back({static_cast<uint16_t>(s), static_cast<uint16_t>(s), &shards_[idx]});
    }
  }
  return out;
}

}  // namespace sb::redis
