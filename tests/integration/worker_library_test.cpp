// The worker and client libraries against the router library, in one process: the router and
// a worker share one event loop on a thread; the test thread is the client.
#include <gtest/gtest.h>

#include <thread>

#include "router.h"
#include "sb/bus/client.h"
#include "sb/bus/worker.h"
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
      c->onCancel([this] { ++cancels_seen_; });
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
  std::atomic<int> cancels_seen_{0};
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

TEST_F(WorkerLibraryTest, DeadlineCancelReachesTheHandler) {
  CallOptions o;
  o.deadline = 100ms;
  auto r = client_->call("lib", "hang", "", o);
  EXPECT_EQ(r.status.code, ErrorCode::kDeadlineExceeded);
  // The cancel travels router -> worker after the client was answered.
  auto until = SteadyClock::now() + 2s;
  while (cancels_seen_ == 0 && SteadyClock::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(cancels_seen_, 1);
}

TEST_F(WorkerLibraryTest, ClientCancelReachesTheHandler) {
  uint64_t id = client_->send("lib", "hang", "");
  client_->cancel(id);
  auto in = client_->next(2s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->id, id);
  EXPECT_EQ(in->code, ErrorCode::kCancelled);
  auto until = SteadyClock::now() + 2s;
  while (cancels_seen_ == 0 && SteadyClock::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(cancels_seen_, 1);
}

TEST_F(WorkerLibraryTest, RouterQueuesBeyondCapacityAndServesInOrder) {
  // Capacity 2: two hang, the third waits in the router's queue until a slot frees.
  uint64_t a = client_->send("lib", "hang", "");
  uint64_t b = client_->send("lib", "hang", "");
  uint64_t c = client_->send("lib", "sync", "third");
  EXPECT_FALSE(client_->next(200ms).has_value());  // nothing can finish yet
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
