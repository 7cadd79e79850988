// Wire behaviour a client or worker written from PROTOCOL.md relies on: errors about a bad
// header carry the request's id whenever it can be read, request id 0 is refused, a bad or
// clashing announcement is answered with an error instead of silence.
#include <msgpack.hpp>

#include "router_sim.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::Kind;

// A header map from (key, value) pairs, values as msgpack objects of any type.
std::string header(const std::vector<std::pair<std::string, msgpack::object>>& kv) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(static_cast<uint32_t>(kv.size()));
  for (const auto& [k, v] : kv) pk.pack(k), pk.pack(v);
  return std::string(buf.data(), buf.size());
}

class RouterProtocol : public RouterSim {
 protected:
  // The one error the client got; fails the test when it got anything else.
  Received onlyError(RawPeer& c) {
    settle();
    auto got = c.received();
    EXPECT_EQ(got.size(), 1u);
    if (got.empty()) return {};
    EXPECT_EQ(got[0].kind, Kind::kError);
    return got[0];
  }
  msgpack::zone zone_;
  msgpack::object o(uint64_t v) { return msgpack::object(v); }
  msgpack::object o(const char* s) { return msgpack::object(s, zone_); }
};

TEST_F(RouterProtocol, ABadHeaderIsAnsweredUnderItsIdWhenTheIdIsReadable) {
  auto c = client();
  struct Case {
    const char* what;
    std::string header;
    std::vector<std::string> extra;  // frames after the header (the body, or more)
  };
  std::vector<Case> cases = {
      {"no svc", header({{"v", o(1)}, {"k", o(1)}, {"id", o(11)}, {"op", o("x")}}), {""}},
      {"svc of the wrong type",
       header({{"v", o(1)}, {"k", o(1)}, {"svc", o(5)}, {"id", o(12)}, {"op", o("x")}}),
       {""}},
      {"version 2", header({{"v", o(2)}, {"k", o(1)}, {"id", o(13)}, {"svc", o("s")}}), {""}},
      {"unknown kind", header({{"v", o(1)}, {"k", o(42)}, {"id", o(14)}}), {""}},
      {"one frame", header({{"v", o(1)}, {"k", o(1)}, {"id", o(15)}, {"svc", o("s")}}), {}},
      {"three frames",
       header({{"v", o(1)}, {"k", o(1)}, {"id", o(16)}, {"svc", o("s")}}),
       {"", ""}},
  };
  uint64_t expected = 11;
  for (const auto& k : cases) {
    std::vector<std::string> frames{k.header};
    frames.insert(frames.end(), k.extra.begin(), k.extra.end());
    c->sendFrames(frames);
    Received r = onlyError(*c);
    EXPECT_EQ(r.id, expected) << k.what;
    EXPECT_EQ(r.code, ErrorCode::kInvalidArgument) << k.what;
    ++expected;
  }
  // Nothing readable: id 0.
  c->sendFrames({"\xc1 not msgpack", ""});
  EXPECT_EQ(onlyError(*c).id, 0u);
}

TEST_F(RouterProtocol, RequestIdZeroIsRefused) {
  auto c = client();
  c->request(0, "svc", "op");
  Received r = onlyError(*c);
  EXPECT_EQ(r.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.message.find("reserved"), std::string::npos) << r.message;
}

// Once the router's start-up window (the no-worker grace) has passed.
TEST_F(RouterProtocol, AnUnknownServiceIsUnavailableAtOnce) {
  advance(options_.no_worker_grace);
  auto c = client();
  c->request(3, "nobody", "op");
  Received r = onlyError(*c);
  EXPECT_EQ(r.id, 3u);
  EXPECT_EQ(r.code, ErrorCode::kUnavailable);
}

// A router that just started (a restart) does not know its workers yet: a request for a
// service it has not heard of waits for them within the no-worker grace, and is served by the
// first worker that announces.
TEST_F(RouterProtocol, ARestartedRouterHoldsRequestsUntilItsWorkersAnnounce) {
  auto c = client();
  c->request(4, "late", "op");
  settle();
  EXPECT_TRUE(c->received(true).empty());
  proto::Announcement a;
  a.name = "late-1";
  a.service = "late";
  a.instance = 1;
  auto w = rawWorker();
  w->ready(a);
  settle();
  auto got = w->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kRequest);
  EXPECT_EQ(got[0].id, 4u);
}

// ...and, if none comes, ends UNAVAILABLE when the grace has passed.
TEST_F(RouterProtocol, ARestartedRoutersHeldRequestEndsAfterTheGrace) {
  auto c = client();
  c->request(5, "never", "op");
  advance(options_.no_worker_grace + Millis(200));
  Received r = onlyError(*c);
  EXPECT_EQ(r.id, 5u);
  EXPECT_EQ(r.code, ErrorCode::kUnavailable);
}

// A worker whose announcement the router cannot accept hears why (an error frame with id 0 and
// an empty envelope) instead of waiting forever.
TEST_F(RouterProtocol, ABadAnnouncementIsAnsweredWithAnError) {
  auto w = rawWorker();
  auto refusal = [&](const std::string& body) {
    proto::Header h;
    h.kind = Kind::kReady;
    h.service = "svc";
    w->sendFrames({"", proto::encodeHeader(h), body});
    settle();
    auto got = w->received(true);
    EXPECT_EQ(got.size(), 1u) << body.size();
    if (got.empty()) return std::string();
    EXPECT_EQ(got[0].kind, Kind::kError);
    EXPECT_EQ(got[0].id, 0u);
    EXPECT_EQ(got[0].envelope, "");
    return got[0].message;
  };
  EXPECT_NE(refusal(header({{"svc", o("svc")}})).find("'name'"), std::string::npos);
  EXPECT_NE(
      refusal(header({{"name", o("n")}, {"svc", o("svc")}, {"cap", o("four")}})).find("'cap'"),
      std::string::npos);
  EXPECT_NE(refusal(header({{"name", o("n")}, {"svc", o("router")}})).find("router"),
            std::string::npos);
  EXPECT_NE(refusal(header({{"name", o("n")}, {"svc", o("svc")}, {"hb", o(50)}})).find("100 ms"),
            std::string::npos);
  EXPECT_NE(refusal("\xc1").find("ready body"), std::string::npos);
  EXPECT_NE(refusal(header({{"name", o("n")}, {"svc", o("other")}})).find("differs"),
            std::string::npos);
  EXPECT_EQ(status()["counters"]["refused"], 6);
  EXPECT_FALSE(registered("n"));
}

TEST_F(RouterProtocol, ASecondLiveWorkerWithTheSameNameIsRefused) {
  proto::Announcement a;
  a.name = "twin";
  a.service = "svc";
  a.instance = 1;
  auto first = rawWorker();
  first->ready(a);
  settle();
  a.instance = 2;  // another process
  auto second = rawWorker();
  second->ready(a);
  settle();
  auto got = second->received(true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kError);
  EXPECT_NE(got[0].message.find("already registered as 'twin'"), std::string::npos)
      << got[0].message;
  EXPECT_EQ(status()["services"][0]["workers"], 1);
}

// The same process on a new connection (it reconnected before the router noticed the old one
// was gone) replaces its old registration.
TEST_F(RouterProtocol, TheSameProcessReconnectingReplacesItsOldRegistration) {
  proto::Announcement a;
  a.name = "phoenix";
  a.service = "svc";
  a.instance = 77;
  auto old_link = rawWorker();
  old_link->ready(a);
  settle();
  auto c = client();
  c->request(1, "svc", "op");
  settle();
  ASSERT_EQ(old_link->received().size(), 1u);
  auto new_link = rawWorker();
  new_link->ready(a);
  settle();
  auto got = new_link->received(true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kHeartbeat);  // registered
  auto ended = c->received();
  ASSERT_EQ(ended.size(), 1u);  // what ran on the old connection is gone with it
  EXPECT_EQ(ended[0].code, ErrorCode::kUnavailable);
  EXPECT_EQ(status()["services"][0]["workers"], 1);
}

}  // namespace
}  // namespace sb::test
