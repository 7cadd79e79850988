// Malformed, oversized and wrong-version frames: the sender gets an error, the router keeps
// serving everyone else.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "bus.h"
#include "sb/core/frames.h"
#include "sb/proto/header_codec.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;

class RouterInput : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = std::make_unique<Bus>(std::vector<std::string>{"--max-body", "1024"});
    echo_ = bus_->startEcho("e");
    raw_ = std::make_unique<zmq::socket_t>(bus_->context(), zmq::socket_type::dealer);
    raw_->set(zmq::sockopt::linger, 0);
    raw_->connect(bus_->frontend());
  }

  void sendRaw(std::vector<std::string> frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      raw_->send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  // The next message on the raw socket, decoded; fails the test if none comes.
  proto::Header expectError(ErrorCode code) {
    zmq::pollitem_t item{raw_->handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, 3s), 1) << "no error frame came back";
    std::vector<zmq::message_t> parts;
    bool too_many = false;
    size_t n = recvMessage(*raw_, parts, 4, too_many);
    parts.resize(n);
    last_.assign(static_cast<const char*>(parts[0].data()), parts[0].size());
    proto::Header h;
    EXPECT_TRUE(proto::decodeHeader(last_, {}, h).ok());
    EXPECT_EQ(parts.size(), 2u);
    EXPECT_EQ(h.kind, proto::Kind::kError);
    EXPECT_EQ(h.error, code) << h.message;
    EXPECT_FALSE(h.message.empty());
    return h;
  }

  void expectStillServing() {
    auto client = bus_->client();
    auto r = client->call("echo", "echo", "still here");
    EXPECT_TRUE(r.status.ok()) << r.status.message;
    EXPECT_EQ(r.body, "still here");
  }

  // A request header; with `to`, addressed to that worker only.
  std::string request(uint32_t version, uint64_t id, const std::string& to = "") {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(to.empty() ? 5 : 6);
    pk.pack("v"), pk.pack(version);
    pk.pack("k"), pk.pack(1);
    pk.pack("id"), pk.pack(id);
    pk.pack("svc"), pk.pack("echo");
    pk.pack("op"), pk.pack("echo");
    if (!to.empty()) pk.pack("to"), pk.pack(to);
    return std::string(buf.data(), buf.size());
  }

  std::unique_ptr<Bus> bus_;
  Process echo_;
  std::unique_ptr<zmq::socket_t> raw_;
  std::string last_;
};

TEST_F(RouterInput, GarbageBytesGetInvalidArgument) {
  sendRaw({"\xc1\xff garbage", "body"});
  expectError(ErrorCode::kInvalidArgument);
  expectStillServing();
}

TEST_F(RouterInput, WrongFrameCountGetsInvalidArgument) {
  sendRaw({"only one frame"});
  auto h = expectError(ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(h.message).find("two frames"), std::string::npos);
  sendRaw({request(1, 1), "a", "b", "c", "d", "e"});
  expectError(ErrorCode::kInvalidArgument);
  expectStillServing();
}

TEST_F(RouterInput, WrongVersionIsRefusedByName) {
  sendRaw({request(7, 1), ""});
  auto h = expectError(ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(h.message).find("version 7"), std::string::npos) << h.message;
  expectStillServing();
}

// Too large is not retryable (the same request can never fit): INVALID_ARGUMENT.
TEST_F(RouterInput, OversizedBodyAndHeaderGetInvalidArgument) {
  sendRaw({request(1, 42), std::string(2000, 'x')});
  auto h = expectError(ErrorCode::kInvalidArgument);
  EXPECT_EQ(h.id, 42u);  // the header was readable, so the error names the request
  EXPECT_NE(std::string(h.message).find("exceeds the limit"), std::string::npos) << h.message;
  sendRaw({std::string(10000, '\x80'), ""});
  h = expectError(ErrorCode::kInvalidArgument);
  EXPECT_EQ(h.id, 0u);  // not read beyond its limit: no id
  expectStillServing();
}

TEST_F(RouterInput, ClientsMayNotSendWorkerKinds) {
  proto::Header h;
  h.kind = proto::Kind::kReply;
  h.id = 3;
  sendRaw({proto::encodeHeader(h), ""});
  expectError(ErrorCode::kInvalidArgument);
  expectStillServing();
}

TEST_F(RouterInput, DuplicateRequestIdIsRefusedWhileTheFirstRuns) {
  auto slow = bus_->startEcho("slow", {"--delay-ms", "500"});
  // Both go to the slow worker (by name: the fixture's fast one would otherwise answer the
  // first before a descheduled test sends the second); the second reuses the id while the
  // first is still in flight.
  sendRaw({request(1, 9, "slow"), ""});
  sendRaw({request(1, 9, "slow"), ""});
  auto h = expectError(ErrorCode::kInvalidArgument);
  EXPECT_NE(std::string(h.message).find("already in flight"), std::string::npos) << h.message;
}

TEST_F(RouterInput, GarbageFromAWorkerSocketIsDroppedAndCounted) {
  zmq::socket_t fake(bus_->context(), zmq::socket_type::dealer);
  fake.set(zmq::sockopt::linger, 0);
  fake.connect(bus_->backend());
  fake.send(zmq::str_buffer("\xc1"), zmq::send_flags::sndmore);
  fake.send(zmq::str_buffer("junk"), zmq::send_flags::sndmore);
  fake.send(zmq::str_buffer("junk"), zmq::send_flags::none);
  fake.send(zmq::str_buffer("one frame"), zmq::send_flags::none);
  EXPECT_TRUE(waitUntil([&] { return bus_->status()["counters"]["dropped"].get<int>() >= 2; }, 3s));
  expectStillServing();
}

TEST_F(RouterInput, AWorkerPointedAtTheFrontendNeverClaimsToBeRegistered) {
  // The router answers its 3-frame announce with a client-link error; that is no registration.
  Process misdirected = Process::start("sb-echo", {"--router", bus_->frontend(), "--name", "lost"});
  // Once the router has answered it (counted as malformed), it still does not claim to be
  // registered, and is not.
  EXPECT_TRUE(
      waitUntil([&] { return bus_->status()["counters"]["malformed"].get<int>() >= 1; }, 10s));
  EXPECT_FALSE(misdirected.awaitReady(0ms).has_value());
  EXPECT_FALSE(bus_->hasWorker("lost"));
}

}  // namespace
}  // namespace sb::test
