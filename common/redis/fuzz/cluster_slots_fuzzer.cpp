// libFuzzer target: what a Redis node sends back, as RESP bytes, read by hiredis into a Reply
// and taken as a CLUSTER SLOTS answer (the slot map comes from whatever a node says). Never
// crashes; a map it builds covers only slots 0..16383 and points at real shards.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/redis/bounded_reader.h"
#include "sb/redis/reply.h"
#include "sb/redis/slot_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::redis;
  redisReader* r = redisReaderCreate();
  boundReader(r);  // as every connection's reader is
  redisReaderFeed(r, reinterpret_cast<const char*>(data), size);
  void* reply = nullptr;
  while (redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
    Reply owned = Reply::from(*static_cast<redisReply*>(reply));
    freeReplyObject(reply);
    reply = nullptr;
    SlotMap map;
    if (SlotMap::fromClusterSlots(owned, "fallback", map).ok()) {
      for (const auto& range : map.ranges()) {
        if (range.last >= sb::kSlotCount || range.first > range.last || !range.shard) std::abort();
        if (range.shard->master.port <= 0 || range.shard->master.port > 65535) std::abort();
      }
    }
  }
  redisReaderFree(r);
  return 0;
}
