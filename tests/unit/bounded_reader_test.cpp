// Found by the cluster-slots fuzzer: hiredis 0.14 allocates the element count an array reply
// declares before any element arrives. A bounded reader refuses an absurd count at once.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <string>

#include "sb/redis/bounded_reader.h"

namespace sb::redis {
namespace {

int feed(redisReader* r, const std::string& bytes, void** reply) {
  redisReaderFeed(r, bytes.data(), bytes.size());
  return redisReaderGetReply(r, reply);
}

TEST(BoundedReader, RefusesAnArrayDeclaringMoreElementsThanTheCap) {
  redisReader* r = redisReaderCreate();
  boundReader(r);
  void* reply = nullptr;
  EXPECT_EQ(feed(r, "*1\r\n*345678901\r\n", &reply), REDIS_ERR);
  EXPECT_EQ(reply, nullptr);
  redisReaderFree(r);
}

TEST(BoundedReader, StillReadsEverythingElse) {
  redisReader* r = redisReaderCreate();
  boundReader(r);
  void* reply = nullptr;
  ASSERT_EQ(feed(r, "*2\r\n$3\r\nabc\r\n:7\r\n", &reply), REDIS_OK);
  ASSERT_NE(reply, nullptr);
  auto* rep = static_cast<redisReply*>(reply);
  EXPECT_EQ(rep->elements, 2u);
  EXPECT_EQ(std::string(rep->element[0]->str, rep->element[0]->len), "abc");
  EXPECT_EQ(rep->element[1]->integer, 7);
  freeReplyObject(reply);
  // The cap itself is allowed.
  ASSERT_EQ(feed(r, "*" + std::to_string(kMaxReplyElements) + "\r\n", &reply), REDIS_OK);
  EXPECT_EQ(reply, nullptr);  // waiting for the elements, not refused
  redisReaderFree(r);
}

}  // namespace
}  // namespace sb::redis
