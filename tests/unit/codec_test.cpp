#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

namespace sb::proto {
namespace {

// Packs a map given as alternating key/value pack calls.
template <typename F>
std::string packMap(uint32_t n, F&& fill) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(n);
  fill(pk);
  return std::string(buf.data(), buf.size());
}

TEST(HeaderCodec, RoundTripsEveryField) {
  Header h;
  h.kind = Kind::kRequest;
  h.id = 0xFFFFFFFFFFFFull;
  h.service = "session";
  h.op = "get";
  h.model = "llama-3";
  h.target = "w1";
  h.deadline_ms = 120000;
  h.idempotent = true;
  std::string frame = encodeHeader(h);
  Header d;
  ASSERT_TRUE(decodeHeader(frame, {}, d).ok());
  EXPECT_EQ(d.version, kProtocolVersion);
  EXPECT_EQ(d.kind, Kind::kRequest);
  EXPECT_EQ(d.id, h.id);
  EXPECT_EQ(d.service, "session");
  EXPECT_EQ(d.op, "get");
  EXPECT_EQ(d.model, "llama-3");
  EXPECT_EQ(d.target, "w1");
  EXPECT_EQ(d.deadline_ms, 120000u);
  EXPECT_TRUE(d.idempotent);
}

TEST(HeaderCodec, RoundTripsErrorsAndChunks) {
  Header h;
  h.kind = Kind::kError;
  h.id = 7;
  h.error = ErrorCode::kDeadlineExceeded;
  h.message = "too slow";
  Header d;
  std::string frame = encodeHeader(h);  // decoded views point into it: keep it alive
  ASSERT_TRUE(decodeHeader(frame, {}, d).ok());
  EXPECT_EQ(d.kind, Kind::kError);
  EXPECT_EQ(d.error, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(d.message, "too slow");

  Header c;
  c.kind = Kind::kChunk;
  c.id = 9;
  c.seq = 3;
  frame = encodeHeader(c);
  ASSERT_TRUE(decodeHeader(frame, {}, d).ok());
  EXPECT_EQ(d.kind, Kind::kChunk);
  EXPECT_EQ(d.seq, 3u);
}

TEST(HeaderCodec, ControlKindsNeedNoId) {
  for (Kind k : {Kind::kReady, Kind::kHeartbeat, Kind::kDrain, Kind::kBye}) {
    Header h;
    h.kind = k;
    h.service = k == Kind::kReady ? "echo" : "";
    Header d;
    std::string frame = encodeHeader(h);
    ASSERT_TRUE(decodeHeader(frame, {}, d).ok()) << kindName(k);
    EXPECT_EQ(d.kind, k);
  }
}

TEST(HeaderCodec, ClampsAbsurdDeadlines) {
  Header h;
  h.kind = Kind::kRequest;
  h.id = 1;
  h.service = "a";
  h.op = "b";
  h.deadline_ms = UINT64_MAX;
  std::string frame = encodeHeader(h);
  Header d;
  ASSERT_TRUE(decodeHeader(frame, {}, d).ok());
  EXPECT_EQ(d.deadline_ms, kMaxDeadlineMs);
}

TEST(HeaderCodec, IgnoresUnknownKeysIncludingNestedOnes) {
  std::string frame = packMap(6, [](auto& pk) {
    pk.pack("v"), pk.pack(1);
    pk.pack("k"), pk.pack(1);
    pk.pack("id"), pk.pack(5);
    pk.pack("future"), pk.pack(std::map<std::string, std::vector<int>>{{"a", {1, 2}}});
    pk.pack("svc"), pk.pack("echo");
    pk.pack("op"), pk.pack("echo");
  });
  Header d;
  ASSERT_TRUE(decodeHeader(frame, {}, d).ok());
  EXPECT_EQ(d.service, "echo");
  EXPECT_EQ(d.id, 5u);
}

TEST(HeaderCodec, RefusesUnknownVersionNamingIt) {
  std::string frame = packMap(3, [](auto& pk) {
    pk.pack("v"), pk.pack(2);
    pk.pack("k"), pk.pack(7);
    pk.pack("id"), pk.pack(1);
  });
  Header d;
  Status st = decodeHeader(frame, {}, d);
  EXPECT_EQ(st.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message.find("version 2"), std::string::npos) << st.message;
}

struct BadCase {
  const char* name;
  std::string frame;
  ErrorCode code;
};

TEST(HeaderCodec, RejectsMalformedFramesWithAStatus) {
  std::vector<BadCase> cases{
      {"empty", "", ErrorCode::kInvalidArgument},
      {"garbage", "\xc1\xc1\xc1", ErrorCode::kInvalidArgument},
      {"not a map", packMap(0, [](auto&) {}).substr(0, 0) + "\x93\x01\x02\x03",
       ErrorCode::kInvalidArgument},
      {"a bare string",
       "\xa3"
       "abc",
       ErrorCode::kInvalidArgument},
      {"truncated", encodeHeader(Header{}).substr(0, 5), ErrorCode::kInvalidArgument},
      {"trailing bytes",
       encodeHeader([] {
         Header h;
         h.kind = Kind::kHeartbeat;
         return h;
       }()) +
           "x",
       ErrorCode::kInvalidArgument},
      {"no version", packMap(1, [](auto& pk) { pk.pack("k"), pk.pack(7); }),
       ErrorCode::kInvalidArgument},
      {"no kind", packMap(1, [](auto& pk) { pk.pack("v"), pk.pack(1); }),
       ErrorCode::kInvalidArgument},
      {"unknown kind",
       packMap(2, [](auto& pk) { pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(42); }),
       ErrorCode::kInvalidArgument},
      {"request without id",
       packMap(4,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(1), pk.pack("svc"), pk.pack("a"),
                     pk.pack("op"), pk.pack("b");
               }),
       ErrorCode::kInvalidArgument},
      {"request without op",
       packMap(4,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(1), pk.pack("id"), pk.pack(1),
                     pk.pack("svc"), pk.pack("a");
               }),
       ErrorCode::kInvalidArgument},
      {"id of the wrong type",
       packMap(3,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(5), pk.pack("id"), pk.pack("x");
               }),
       ErrorCode::kInvalidArgument},
      {"negative id",
       packMap(3,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(5), pk.pack("id"), pk.pack(-1);
               }),
       ErrorCode::kInvalidArgument},
      {"integer key",
       packMap(3,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(7), pk.pack(1), pk.pack(1);
               }),
       ErrorCode::kInvalidArgument},
      {"duplicate key",
       packMap(3,
               [](auto& pk) {
                 pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(7), pk.pack("k"), pk.pack(7);
               }),
       ErrorCode::kInvalidArgument},
      {"oversized", std::string(5000, '\x80'), ErrorCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    Header d;
    Status st = decodeHeader(c.frame, {}, d);
    EXPECT_EQ(st.code, c.code) << c.name << ": " << st.message;
    EXPECT_FALSE(st.message.empty()) << c.name;
  }
}

TEST(HeaderCodec, BoundsNestingStringsAndContainers) {
  Limits limits;
  limits.max_depth = 4;
  limits.max_string_bytes = 16;
  limits.max_entries = 8;
  // Deep nesting under an unknown key.
  std::string deep = packMap(3, [](auto& pk) {
    pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(7);
    pk.pack("x");
    for (int i = 0; i < 10; ++i) pk.pack_array(1);
    pk.pack(0);
  });
  Header d;
  EXPECT_NE(decodeHeader(deep, limits, d).message.find("nesting"), std::string::npos);
  std::string long_str = packMap(3, [](auto& pk) {
    pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(7), pk.pack("x"), pk.pack(std::string(17, 'a'));
  });
  EXPECT_EQ(decodeHeader(long_str, limits, d).code, ErrorCode::kInvalidArgument);
  std::string wide = packMap(3, [](auto& pk) {
    pk.pack("v"), pk.pack(1), pk.pack("k"), pk.pack(7), pk.pack("x"),
        pk.pack(std::vector<int>(9, 1));
  });
  EXPECT_EQ(decodeHeader(wide, limits, d).code, ErrorCode::kInvalidArgument);
  // A huge declared map size with few bytes behind it is just truncated input.
  std::string lying("\xdf\xff\xff\xff\xff", 5);
  EXPECT_EQ(decodeHeader(lying, {}, d).code, ErrorCode::kInvalidArgument);
}

TEST(BodyCodec, DecodesAndBoundsBodies) {
  msgpack::object_handle oh;
  std::map<std::string, int> m{{"a", 1}};
  ASSERT_TRUE(decodeBody(packBody(m), {}, oh).ok());
  ASSERT_NE(findKey(oh.get(), "a"), nullptr);
  EXPECT_EQ(findKey(oh.get(), "a")->as<int>(), 1);
  EXPECT_EQ(findKey(oh.get(), "b"), nullptr);

  ASSERT_TRUE(decodeBody("", {}, oh).ok());
  EXPECT_TRUE(oh.get().is_nil());

  Limits limits;
  limits.max_body_bytes = 8;
  EXPECT_EQ(decodeBody(std::string(9, '\x01'), limits, oh).code, ErrorCode::kInvalidArgument);
  limits = {};
  limits.max_depth = 3;
  std::string deep(10, '\x91');
  deep += '\x01';
  EXPECT_EQ(decodeBody(deep, limits, oh).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(decodeBody("\xc1", {}, oh).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(decodeBody("\x92\x01", {}, oh).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(decodeBody("\x01\x02", {}, oh).code, ErrorCode::kInvalidArgument);
}

TEST(ErrorCodes, NamesAndRetryability) {
  EXPECT_EQ(errorCodeName(ErrorCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(errorCodeFromName("UNAVAILABLE"), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeFromNumber(14), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeFromNumber(99), ErrorCode::kUnknown);
  EXPECT_TRUE(isRetryable(ErrorCode::kUnavailable));
  EXPECT_FALSE(isRetryable(ErrorCode::kInvalidArgument));
  EXPECT_TRUE(countsAsWorkerFailure(ErrorCode::kInternal));
  EXPECT_FALSE(countsAsWorkerFailure(ErrorCode::kInvalidArgument));
  EXPECT_FALSE(countsAsWorkerFailure(ErrorCode::kCancelled));
}

}  // namespace
}  // namespace sb::proto
