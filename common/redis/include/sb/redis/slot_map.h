#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sb/policy/keyslot.h"
#include "sb/proto/status.h"
#include "sb/redis/connection.h"
#include "sb/redis/reply.h"

namespace sb::redis {

struct Shard {
  Node master;
  std::vector<Node> replicas;
};

struct SlotRange {
  uint16_t first;
  uint16_t last;
  const Shard* shard;
};

// Which node serves each of the 16384 slots. Pure data: built from one node, from a static
// list of standalone shards (contiguous ranges), or from a CLUSTER SLOTS reply, and patched by
// MOVED redirections.
class SlotMap {
 public:
  SlotMap();
  static SlotMap single(const Node& node);
  // Slots split into len(shards) contiguous ranges of (nearly) equal size, in list order.
  static SlotMap split(const std::vector<Node>& shards);
  // Parses a CLUSTER SLOTS reply. Nodes that report an empty host get `fallback_host`.
  static proto::Status fromClusterSlots(const Reply& reply, const std::string& fallback_host,
                                        SlotMap& out);

  // The shard serving `slot`, or nullptr if no node covers it.
  const Shard* shardFor(uint16_t slot) const;
  // MOVED: `slot` is now served by the master at `node`.
  void moveSlot(uint16_t slot, const Node& node);
  bool covers(uint16_t slot) const { return slot_to_shard_[slot] >= 0; }
  bool complete() const;
  bool empty() const { return shards_.empty(); }
  const std::vector<Shard>& shards() const { return shards_; }
  // Contiguous ranges with the same shard, in slot order (for `sbctl slots` and status).
  std::vector<SlotRange> ranges() const;

 private:
  int addShard(Shard shard);
  std::vector<Shard> shards_;
  std::array<int16_t, kSlotCount> slot_to_shard_;
};

}  // namespace sb::redis
