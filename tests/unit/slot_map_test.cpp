#include <gtest/gtest.h>

#include "sb/redis/redis_url.h"
#include "sb/redis/slot_map.h"

namespace sb::redis {
namespace {

Reply integer(int64_t v) {
  Reply r;
  r.type = Reply::Type::kInteger;
  r.integer = v;
  return r;
}
Reply str(const std::string& s) {
  Reply r;
  r.type = Reply::Type::kString;
  r.str = s;
  return r;
}
Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::kArray;
  r.elements = std::move(elements);
  return r;
}
Reply node(const std::string& host, int port) {
  return array({str(host), integer(port), str("id-" + std::to_string(port)), array({})});
}

TEST(SlotMap, SplitsStaticShardsIntoContiguousRanges) {
  SlotMap m = SlotMap::split({{"a", 1}, {"b", 2}, {"c", 3}});
  auto ranges = m.ranges();
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 5460);
  EXPECT_EQ(ranges[1].first, 5461);
  EXPECT_EQ(ranges[1].last, 10921);
  EXPECT_EQ(ranges[2].first, 10922);
  EXPECT_EQ(ranges[2].last, 16383);
  EXPECT_EQ(ranges[2].shard->master.host, "c");
  EXPECT_TRUE(m.complete());
  EXPECT_EQ(m.shardFor(keySlot("foo"))->master.host, "c");  // slot 12182
  EXPECT_EQ(SlotMap::single({"x", 9}).shardFor(0)->master.port, 9);
  EXPECT_EQ(SlotMap::single({"x", 9}).shardFor(16383)->master.port, 9);
}

TEST(SlotMap, ParsesClusterSlotsWithReplicas) {
  Reply reply = array({
      array({integer(0), integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)}),
      array({integer(5461), integer(10922), node("10.0.0.2", 7001)}),
      array({integer(10923), integer(16383), node("", 7002), node("10.0.0.6", 7005)}),
  });
  SlotMap m;
  ASSERT_TRUE(SlotMap::fromClusterSlots(reply, "seed-host", m).ok());
  EXPECT_TRUE(m.complete());
  EXPECT_EQ(m.shards().size(), 3u);
  const Shard* s0 = m.shardFor(100);
  EXPECT_EQ(s0->master.address(), "10.0.0.1:7000");
  ASSERT_EQ(s0->replicas.size(), 1u);
  EXPECT_EQ(s0->replicas[0].address(), "10.0.0.4:7003");
  EXPECT_TRUE(m.shardFor(6000)->replicas.empty());
  EXPECT_EQ(m.shardFor(16000)->master.address(), "seed-host:7002");  // empty host: the asked node's
}

TEST(SlotMap, PartialMapsAndMovedSlots) {
  Reply reply = array({array({integer(0), integer(99), node("a", 1)})});
  SlotMap m;
  ASSERT_TRUE(SlotMap::fromClusterSlots(reply, "h", m).ok());
  EXPECT_FALSE(m.complete());
  EXPECT_EQ(m.shardFor(100), nullptr);
  m.moveSlot(100, {"b", 2});
  EXPECT_EQ(m.shardFor(100)->master.address(), "b:2");
  m.moveSlot(5, {"b", 2});  // an existing shard is reused
  EXPECT_EQ(m.shards().size(), 2u);
  EXPECT_EQ(m.shardFor(5)->master.address(), "b:2");
  EXPECT_EQ(m.shardFor(4)->master.address(), "a:1");
}

TEST(SlotMap, RejectsMalformedReplies) {
  SlotMap m;
  EXPECT_FALSE(SlotMap::fromClusterSlots(str("no"), "h", m).ok());
  EXPECT_FALSE(SlotMap::fromClusterSlots(array({array({integer(0)})}), "h", m).ok());
  EXPECT_FALSE(
      SlotMap::fromClusterSlots(array({array({integer(5), integer(20000), node("a", 1)})}), "h", m)
          .ok());
  EXPECT_FALSE(
      SlotMap::fromClusterSlots(array({array({integer(9), integer(2), node("a", 1)})}), "h", m)
          .ok());
  EXPECT_FALSE(
      SlotMap::fromClusterSlots(array({array({integer(0), integer(2), str("x")})}), "h", m).ok());
}

TEST(RedisUrl, ParsesTheForms) {
  RedisUrl u;
  ASSERT_TRUE(parseRedisUrl("redis://127.0.0.1:6379", u).ok());
  EXPECT_EQ(u.node.address(), "127.0.0.1:6379");
  EXPECT_TRUE(u.password.empty());
  ASSERT_TRUE(parseRedisUrl("redis://:s3cret@db.example:7000/", u).ok());
  EXPECT_EQ(u.node.address(), "db.example:7000");
  EXPECT_EQ(u.password, "s3cret");
  EXPECT_TRUE(u.user.empty());
  ASSERT_TRUE(parseRedisUrl("redis://alice:p%40ss%3Aword@h:1/3", u).ok());
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "p@ss:word");  // percent-decoded
  EXPECT_EQ(u.db, 3);
  ASSERT_TRUE(parseRedisUrl("redis://[::1]:6380", u).ok());
  EXPECT_EQ(u.node.host, "::1");
  EXPECT_EQ(u.node.address(), "[::1]:6380");
  ASSERT_TRUE(parseRedisUrl("redis://cache.internal", u).ok());
  EXPECT_EQ(u.node.port, 6379);  // the default port
  ASSERT_TRUE(parseRedisUrl("h:2", u).ok());
  EXPECT_EQ(u.node.address(), "h:2");
  for (const char* bad : {"host:", "host:0", "host:70000", "host:12x", ":1", "http://h:1",
                          "rediss://h:1", "redis://h:1/x", "redis://h:1/1?x=1", "redis://"}) {
    EXPECT_FALSE(parseRedisUrl(bad, u).ok()) << bad;
  }
}

TEST(RedisUrl, HostPortAsRedisWritesIt) {
  Node n;
  ASSERT_TRUE(parseHostPort("127.0.0.1:7001", n).ok());
  EXPECT_EQ(n.address(), "127.0.0.1:7001");
  ASSERT_TRUE(parseHostPort("::1:7001", n).ok());  // MOVED's IPv6 form, no brackets
  EXPECT_EQ(n.host, "::1");
  ASSERT_TRUE(parseHostPort("[fe80::1]:7001", n).ok());
  EXPECT_EQ(n.host, "fe80::1");
  for (const char* bad : {"7001", ":7001", "h:", "h:0", "h:x"}) {
    EXPECT_FALSE(parseHostPort(bad, n).ok()) << bad;
  }
}

}  // namespace
}  // namespace sb::redis
