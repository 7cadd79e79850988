// The worker and client libraries against the router library, in one process: the router and
// a worker share one event loop on a thread; the test thread is the client.
#include <gtest/gtest.h>

#include <thread>

#include "latch.h"
#include "router.h"
#include "sb/bus/client.h"
#include "sb/bus/worker.h"
#include "sb/core/json_body.h"
#include "sb/proto/body_codec.h"

namespace sb {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;

class WorkerLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router::RouterOptions ro;
    ro.clients = "tcp://127.0.0.1:*";
    ro.workers = "tcp://127.0.0.1:*";
    router_ = std::make_unique<router::Router>(ctx_, loop_, ro);
    WorkerOptions wo;
    wo.routers = {router_->workerEndpoint()};
    wo.service = "lib";
    wo.name = "lib-1";
    wo.capacity = 2;
    worker_ = std::make_unique<Worker>(ctx_, loop_, wo);
    worker_->handle("sync", [](const CallPtr& c) { c->reply(c->body()); });
    worker_->handle("stream", [this](const CallPtr& c) {
      c->chunk("a");
      c->chunk("b");
      later_.push_back(loop_.after(20ms, [c] { c->reply("done"); }));
    });
    worker_->handle("forget", [](const CallPtr&) {});
    worker_->handle("hang", [this](const CallPtr& c) {
      held_.push_back(c);
      c->onCancel([this] { cancels_.arrive(); });
    });
    // Sends one chunk, then the next only once the client has it: a router that buffered the
    // stream would never deliver the first, and the test would time out.
    worker_->handle("paced", [this](const CallPtr& c) {
      c->chunk("first");
      later_.push_back(loop_.every(1ms, [this, c] {
        if (c->done() || chunk_seen_.count() == 0) return;
        c->chunk("second");
        c->reply("done");
      }));
    });
    worker_->handle("bad",
                    [](const CallPtr& c) { c->fail(ErrorCode::kNotFound, "no such thing"); });
    bool registered = false;
    worker_->onRegistered([&] { registered = true; });
    worker_->start();
    while (!registered) loop_.runOnce(50ms);
    thread_ = std::thread([this] { loop_.run(); });
    client_ = std::make_unique<Client>(ctx_, router_->clientEndpoint());
  }
  void TearDown() override {
    loop_.post([this] { loop_.stop(); });
    thread_.join();
    client_.reset();
    held_.clear();
    later_.clear();
    worker_.reset();
    router_.reset();
  }

  zmq::context_t ctx_{1};
  EventLoop loop_;
  std::unique_ptr<router::Router> router_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::vector<CallPtr> held_;
  std::vector<LoopHandle> later_;
  test::Latch cancels_;
  test::Latch chunk_seen_;
};

TEST_F(WorkerLibraryTest, UnaryReplyCarriesTheBody) {
  auto r = client_->call("lib", "sync", "payload");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.body, "payload");
}

TEST_F(WorkerLibraryTest, ChunksArriveInOrderBeforeTheReply) {
  auto r = client_->call("lib", "stream", "");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.chunks, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.body, "done");
}

TEST_F(WorkerLibraryTest, AHandlerThatDropsTheCallStillEndsIt) {
  auto r = client_->call("lib", "forget", "");
  EXPECT_EQ(r.status.code, ErrorCode::kInternal);
}

TEST_F(WorkerLibraryTest, ErrorsCarryCodeAndMessage) {
  auto r = client_->call("lib", "bad", "");
  EXPECT_EQ(r.status.code, ErrorCode::kNotFound);
  EXPECT_EQ(r.status.message, "no such thing");
  r = client_->call("lib", "nope", "");
  EXPECT_EQ(r.status.code, ErrorCode::kUnimplemented);
}

TEST_F(WorkerLibraryTest, StreamsAreForwardedChunkByChunk) {
  uint64_t id = client_->send("lib", "paced", "");
  auto first = client_->next(5s);
  ASSERT_TRUE(first.has_value()) << "the first chunk did not come on its own";
  EXPECT_EQ(first->id, id);
  EXPECT_EQ(first->body, "first");
  chunk_seen_.arrive();
  std::vector<std::string> rest;
  while (true) {
    auto in = client_->next(5s);
    ASSERT_TRUE(in.has_value());
    rest.push_back(in->body);
    if (proto::isFinal(in->kind)) break;
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"second", "done"}));
}

TEST_F(WorkerLibraryTest, DeadlineCancelReachesTheHandler) {
  CallOptions o;
  o.deadline = 100ms;
  auto r = client_->call("lib", "hang", "", o);
  EXPECT_EQ(r.status.code, ErrorCode::kDeadlineExceeded);
  // The cancel travels router -> worker after the client was answered.
  EXPECT_TRUE(cancels_.await(1, 5s));
}

TEST_F(WorkerLibraryTest, ClientCancelReachesTheHandler) {
  uint64_t id = client_->send("lib", "hang", "");
  client_->cancel(id);
  auto in = client_->next(2s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->id, id);
  EXPECT_EQ(in->code, ErrorCode::kCancelled);
  EXPECT_TRUE(cancels_.await(1, 5s));
}

TEST_F(WorkerLibraryTest, RouterQueuesBeyondCapacityAndServesInOrder) {
  // Capacity 2: two hang, the third waits in the router's queue until a slot frees.
  uint64_t a = client_->send("lib", "hang", "");
  uint64_t b = client_->send("lib", "hang", "");
  uint64_t c = client_->send("lib", "sync", "third");
  // On the same connection, so the router reads it after the three requests.
  uint64_t st = client_->send("router", "status", "");
  auto status = client_->next(5s);
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->id, st);  // nothing else has ended
  EXPECT_EQ(unpackJsonValue(status->body)["services"][0]["queued"], 1);
  client_->cancel(a);
  std::vector<uint64_t> order;
  for (int i = 0; i < 2; ++i) {
    auto in = client_->next(2s);
    ASSERT_TRUE(in.has_value());
    order.push_back(in->id);
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{a, c}));
  client_->cancel(b);
  auto last = client_->next(2s);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id, b);
}

}  // namespace
}  // namespace sb
