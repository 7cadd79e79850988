#include <gtest/gtest.h>

#include "sb/policy/keyslot.h"

namespace sb {
namespace {

// Vectors from the Redis Cluster specification.
TEST(KeySlot, Crc16MatchesTheSpecReference) {
  // The spec's reference output for "123456789" is 0x31C3.
  EXPECT_EQ(crc16Xmodem("123456789"), 0x31C3);
  EXPECT_EQ(crc16Xmodem(""), 0);
}

TEST(KeySlot, SlotsMatchRedis) {
  // Values CLUSTER KEYSLOT returns for these keys.
  EXPECT_EQ(keySlot("foo"), 12182);
  EXPECT_EQ(keySlot("bar"), 5061);
  EXPECT_EQ(keySlot("hello"), 866);
  EXPECT_EQ(keySlot("somekey"), 11058);
  EXPECT_EQ(keySlot("123456789"), 0x31C3 & 0x3FFF);
}

TEST(KeySlot, HashTagRulesFromTheSpec) {
  // {user1000}.following and {user1000}.followers hash "user1000".
  EXPECT_EQ(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  EXPECT_EQ(keySlot("{user1000}.following"), keySlot("user1000"));
  // foo{}{bar}: the first tag is empty, so the whole key is hashed.
  EXPECT_EQ(hashTag("foo{}{bar}"), "foo{}{bar}");
  // foo{{bar}}zap: the tag is "{bar".
  EXPECT_EQ(hashTag("foo{{bar}}zap"), "{bar");
  // foo{bar}{zap}: only the first tag counts.
  EXPECT_EQ(hashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(keySlot("foo{bar}{zap}"), keySlot("bar"));
  // No closing brace: the whole key.
  EXPECT_EQ(hashTag("foo{bar"), "foo{bar");
  EXPECT_EQ(hashTag("}{x}"), "x");
}

TEST(KeySlot, StaysInRange) {
  for (int i = 0; i < 10000; ++i) EXPECT_LT(keySlot("key:" + std::to_string(i)), kSlotCount);
}

}  // namespace
}  // namespace sb
