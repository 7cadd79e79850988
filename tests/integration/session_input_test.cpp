// What the session service accepts and answers, decided and documented (PROTOCOL.md 6.1):
// bodies are maps, each key once; every string is UTF-8; a get says where its messages start
// and whether the range held more than one reply carries.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "session_bus.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using proto::ErrorCode;

// msgpack bytes written by hand, for what JSON cannot express.
class Raw {
 public:
  Raw& map(uint32_t n) {
    pk_.pack_map(n);
    return *this;
  }
  Raw& array(uint32_t n) {
    pk_.pack_array(n);
    return *this;
  }
  Raw& str(std::string_view s) {  // any bytes, as a msgpack str
    pk_.pack_str(static_cast<uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
  }
  Raw& num(uint64_t v) {
    pk_.pack(v);
    return *this;
  }
  Raw& nil() {
    pk_.pack_nil();
    return *this;
  }
  std::string bytes() const { return std::string(buf_.data(), buf_.size()); }

 private:
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_{buf_};
};

class SessionInput : public ::testing::Test {
 protected:
  void SetUp() override {
    sb_ = std::make_unique<SessionBus>(std::vector<std::string>{"--redis", redis_.url()},
                                       std::vector<std::string>{"--max-messages", "5000"});
    ASSERT_TRUE(sb_->call("create", {{"id", "s"}}).status.ok());
  }
  // An append of one message {role, content} given as raw strings.
  SessionReply appendRaw(std::string_view role, std::string_view content) {
    return sb_->callRaw("append", Raw()
                                      .map(2)
                                      .str("id")
                                      .str("s")
                                      .str("messages")
                                      .array(1)
                                      .map(2)
                                      .str("role")
                                      .str(role)
                                      .str("content")
                                      .str(content)
                                      .bytes());
  }

  RedisServer redis_;
  std::unique_ptr<SessionBus> sb_;
};

// Strings that are not UTF-8 are refused at the door: stored, they would make the session
// undecodable for a strict client (Python's msgpack by default) on every later get.
TEST_F(SessionInput, InvalidUtf8IsRefusedWhereverItIs) {
  const std::string bad = "caf\xc3";  // a truncated two-byte sequence
  EXPECT_EQ(appendRaw(bad, "x").status.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(appendRaw("user", bad).status.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(appendRaw("user", "\xed\xa0\x80").status.code,
            ErrorCode::kInvalidArgument);  // UTF-16 surrogate
  auto key = sb_->callRaw("append", Raw()
                                        .map(2)
                                        .str("id")
                                        .str("s")
                                        .str("messages")
                                        .array(1)
                                        .map(2)
                                        .str("role")
                                        .str("user")
                                        .str(bad)
                                        .str("x")
                                        .bytes());
  EXPECT_EQ(key.status.code, ErrorCode::kInvalidArgument);
  auto meta = sb_->callRaw(
      "create", Raw().map(2).str("id").str("m").str("metadata").map(1).str("t").str(bad).bytes());
  EXPECT_EQ(meta.status.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(sb_->call("get", {{"id", "s"}}).body["length"], 0);  // nothing was stored
  // Real UTF-8 is fine, of course.
  auto ok = appendRaw("user", "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_TRUE(ok.status.ok()) << ok.status.message;
}

TEST_F(SessionInput, ADuplicateKeyIsRefusedNotSilentlyResolved) {
  auto dup = sb_->callRaw("get", Raw().map(2).str("id").str("s").str("id").str("other").bytes());
  EXPECT_EQ(dup.status.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(dup.status.message.find("'id' appears twice"), std::string::npos) << dup.status.message;
  auto in_message = sb_->callRaw("append", Raw()
                                               .map(2)
                                               .str("id")
                                               .str("s")
                                               .str("messages")
                                               .array(1)
                                               .map(2)
                                               .str("role")
                                               .str("user")
                                               .str("role")
                                               .str("system")
                                               .bytes());
  EXPECT_EQ(in_message.status.code, ErrorCode::kInvalidArgument);
}

// A body is a map. No body at all (nil, or zero bytes) is an error for every op; an empty map
// on create makes a session with a generated id.
TEST_F(SessionInput, NoBodyIsRefusedAnEmptyMapCreatesWithAGeneratedId) {
  for (const char* op : {"create", "get", "append", "list"}) {
    EXPECT_EQ(sb_->callRaw(op, Raw().nil().bytes()).status.code, ErrorCode::kInvalidArgument) << op;
    EXPECT_EQ(sb_->callRaw(op, "").status.code, ErrorCode::kInvalidArgument) << op;
  }
  auto made = sb_->callRaw("create", Raw().map(0).bytes());
  ASSERT_TRUE(made.status.ok()) << made.status.message;
  EXPECT_EQ(made.body["id"].get<std::string>().size(), 32u);
  EXPECT_TRUE(sb_->call("status", json::object()).status.ok());  // status takes anything
}

// A get returns at most 1000 messages. It says where they start and whether the range held
// more, so a caller can page through a long history instead of silently getting a part.
TEST_F(SessionInput, ALongRangeIsCutAndSaysSo) {
  for (int batch = 0; batch < 12; ++batch) {
    json msgs = json::array();
    for (int i = 0; i < 100; ++i)
      msgs.push_back({{"role", "user"}, {"content", std::to_string(batch * 100 + i)}});
    ASSERT_TRUE(sb_->call("append", {{"id", "s"}, {"messages", msgs}}).status.ok());
  }
  auto all = sb_->call("get", {{"id", "s"}, {"start", 0}, {"stop", -1}});
  ASSERT_TRUE(all.status.ok()) << all.status.message;
  EXPECT_EQ(all.body["length"], 1200);
  EXPECT_EQ(all.body["messages"].size(), 1000u);
  EXPECT_EQ(all.body["truncated"], true);
  EXPECT_EQ(all.body["start"], 0);
  EXPECT_EQ(all.body["messages"][999]["content"], "999");
  auto rest = sb_->call("get", {{"id", "s"}, {"start", 1000}, {"stop", -1}});
  EXPECT_EQ(rest.body["messages"].size(), 200u);
  EXPECT_EQ(rest.body["truncated"], false);
  EXPECT_EQ(rest.body["start"], 1000);
  EXPECT_EQ(rest.body["messages"][0]["content"], "1000");
  auto tail = sb_->call("get", {{"id", "s"}, {"last", 3}});
  EXPECT_EQ(tail.body["start"], 1197);
  EXPECT_EQ(tail.body["truncated"], false);
  auto window = sb_->call("get", {{"id", "s"}, {"start", 10}, {"stop", 1500}});
  EXPECT_EQ(window.body["messages"].size(), 1000u);
  EXPECT_EQ(window.body["truncated"], true);
  EXPECT_EQ(window.body["messages"][0]["content"], "10");
}

}  // namespace
}  // namespace sb::test
