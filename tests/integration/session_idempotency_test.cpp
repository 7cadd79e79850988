// Resends are safe: an operation id is remembered for a window of time, not a count that
// resets; a create is retry-safe and writes its user's index first, so a failure half way
// leaves nothing a resend cannot complete.
#include <gtest/gtest.h>

#include <signal.h>

#include "sb/policy/keyslot.h"
#include "session_bus.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using proto::ErrorCode;

json oneMessage(const std::string& text) {
  return json::array({{{"role", "user"}, {"content", text}}});
}

// The table of recent operation ids used to be wiped whole at 512 entries: a resend could be
// applied twice after one other operation. Now it holds everything within the window.
TEST(SessionIdempotency, AnOpIdIsRememberedAcrossHundredsOfOtherOperations) {
  RedisServer redis;
  SessionBus sb({"--redis", redis.url()}, {"--max-messages", "5000"});
  ASSERT_TRUE(sb.call("create", {{"id", "s"}}).status.ok());
  auto first =
      sb.call("append", {{"id", "s"}, {"op_id", "the-one"}, {"messages", oneMessage("x")}});
  ASSERT_TRUE(first.status.ok());
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(sb.call("append", {{"id", "s"},
                                   {"op_id", "other-" + std::to_string(i)},
                                   {"messages", oneMessage(std::to_string(i))}})
                    .status.ok());
  }
  auto again =
      sb.call("append", {{"id", "s"}, {"op_id", "the-one"}, {"messages", oneMessage("x")}});
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.body["version"], first.body["version"]);  // the first result, not applied
  EXPECT_EQ(sb.call("get", {{"id", "s"}, {"last", 0}}).body["length"], 601);
}

TEST(SessionIdempotency, ACreateResentWithItsOpIdSucceedsAgainAnotherOpIdClashes) {
  RedisServer redis;
  SessionBus sb({"--redis", redis.url()});
  auto made = sb.call("create", {{"id", "c"}, {"op_id", "mk-1"}});
  ASSERT_TRUE(made.status.ok()) << made.status.message;
  auto resent = sb.call("create", {{"id", "c"}, {"op_id", "mk-1"}});
  EXPECT_TRUE(resent.status.ok()) << resent.status.message;
  EXPECT_EQ(sb.call("create", {{"id", "c"}, {"op_id", "mk-2"}}).status.code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sb.call("create", {{"op_id", "mk-3"}}).status.code, ErrorCode::kInvalidArgument);
}

// Two static shards: the user's index on one, the session on the other. A create while the
// index's node is down ends UNAVAILABLE and makes nothing; resent once the node is back, it
// completes and the session is listed. A create while the session's node is down leaves an
// index entry that list hides.
class SessionCreateAcrossShards : public ::testing::Test {
 protected:
  void SetUp() override {
    sb_ = std::make_unique<SessionBus>(
        std::vector<std::string>{"--shard", shards_[0].url(), "--shard", shards_[1].url()},
        std::vector<std::string>{"--redis-timeout-ms", "300"});
    user_ = "alice";
    size_t index_shard = keySlot("sb:session:user:{" + user_ + "}") * 2 / kSlotCount;
    index_ = &shards_[index_shard];
    session_ = &shards_[1 - index_shard];
    for (int i = 0; ids_.size() < 2; ++i) {
      std::string id = "sess-" + std::to_string(i);
      if (keySlot(id) * 2 / kSlotCount != index_shard) ids_.push_back(id);
    }
  }
  RedisServer shards_[2];
  std::unique_ptr<SessionBus> sb_;
  std::string user_;
  RedisServer* index_ = nullptr;
  RedisServer* session_ = nullptr;
  std::vector<std::string> ids_;  // sessions on the other shard than the index
};

TEST_F(SessionCreateAcrossShards, TheIndexNodeDownMakesNothingAndAResendCompletes) {
  json create = {{"id", ids_[0]}, {"user", user_}, {"op_id", "op-a"}};
  index_->signal(SIGSTOP);
  auto down = sb_->call("create", create);
  index_->signal(SIGCONT);
  EXPECT_EQ(down.status.code, ErrorCode::kUnavailable) << down.status.message;
  EXPECT_EQ(session_->command({"EXISTS", "sb:session:{" + ids_[0] + "}:meta"}), "0");
  SessionReply again;
  ASSERT_TRUE(waitUntil([&] { return (again = sb_->call("create", create)).status.ok(); }, 10s))
      << again.status.message;
  auto listed = sb_->call("list", {{"user", user_}});
  EXPECT_EQ(listed.body["sessions"], json::array({ids_[0]}));
}

// (Killed, not stopped: a stopped Redis would still run the command waiting in its socket
// once it wakes up, so the create would happen after all.)
TEST_F(SessionCreateAcrossShards, TheSessionNodeDownLeavesAnIndexEntryThatListHides) {
  session_->kill();
  auto down = sb_->call("create", {{"id", ids_[0]}, {"user", user_}, {"op_id", "op-b"}});
  EXPECT_EQ(down.status.code, ErrorCode::kUnavailable) << down.status.message;
  EXPECT_EQ(index_->command({"ZCARD", "sb:session:user:{" + user_ + "}"}), "1");
  // While the node is down list cannot tell, and shows the id; once it answers, an entry
  // whose session does not exist is hidden.
  session_->restart();
  SessionReply listed;
  ASSERT_TRUE(waitUntil(
      [&] {
        listed = sb_->call("list", {{"user", user_}});
        return listed.status.ok() && listed.body["sessions"].empty();
      },
      10s))
      << listed.body.dump();
  SessionReply again;
  ASSERT_TRUE(waitUntil(
      [&] {
        return (again = sb_->call("create", {{"id", ids_[0]}, {"user", user_}, {"op_id", "op-b"}}))
            .status.ok();
      },
      10s))
      << again.status.message;
  EXPECT_EQ(sb_->call("list", {{"user", user_}}).body["sessions"], json::array({ids_[0]}));
}

}  // namespace
}  // namespace sb::test
