// Dispatch behaviour of a real sb-router with real sb-echo workers.
#include <gtest/gtest.h>

#include "bus.h"
#include "sb/proto/body_codec.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;

TEST(RouterDispatch, SlowWorkerGetsFewerRequestsAndNoWorkerExceedsCapacity) {
  Bus bus;
  auto slow = bus.startEcho("slow", {"--delay-ms", "100", "--capacity", "4"});
  auto fast1 = bus.startEcho("fast1", {"--delay-ms", "5", "--capacity", "4"});
  auto fast2 = bus.startEcho("fast2", {"--delay-ms", "5", "--capacity", "4"});
  auto client = bus.client();
  // 20 in flight against 12 slots: the router must queue, and never overfill a worker.
  const int total = 600;
  int sent = 0, done = 0, ok = 0;
  while (done < total) {
    while (sent < total && sent - done < 20) {
      client->send("echo", "echo", "x");
      ++sent;
    }
    auto in = client->next(5s);
    ASSERT_TRUE(in.has_value()) << "a request hung";
    ++done;
    if (in->kind == proto::Kind::kReply) ++ok;
  }
  EXPECT_EQ(ok, total);
  auto s = bus.workerStats("echo", "slow");
  auto f1 = bus.workerStats("echo", "fast1");
  auto f2 = bus.workerStats("echo", "fast2");
  EXPECT_EQ(s["handled"].get<int>() + f1["handled"].get<int>() + f2["handled"].get<int>(), total);
  // A fast worker finishes 20x sooner; least-connection keeps handing it the next request.
  EXPECT_LT(s["handled"].get<int>() * 3, f1["handled"].get<int>()) << s << f1;
  EXPECT_LT(s["handled"].get<int>() * 3, f2["handled"].get<int>()) << s << f2;
  for (const auto& w : {s, f1, f2}) {
    EXPECT_LE(w["peak_inflight"].get<int>(), 4) << w;
    EXPECT_EQ(w["rejected"].get<int>(), 0) << w;  // the router never sent more than capacity
  }
  EXPECT_EQ(s["peak_inflight"].get<int>(), 4) << "the slow worker should have been filled";
}

// Chunks come in order, numbered, before the reply. (That they are forwarded one by one, not
// buffered, is WorkerLibraryTest.StreamsAreForwardedChunkByChunk: there the worker sends the
// next chunk only once the client has the first.)
TEST(RouterDispatch, ChunksArriveInOrderWithTheirSequenceNumbers) {
  Bus bus;
  auto w = bus.startEcho("streamer", {"--chunks", "5", "--delay-ms", "50"});
  auto client = bus.client();
  std::vector<uint64_t> seqs;
  auto r = client->call("echo", "echo", proto::packBody(std::string("tok")), {},
                        [&](const Incoming& in) { seqs.push_back(in.seq); });
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  for (const auto& c : r.chunks) EXPECT_EQ(c, proto::packBody(std::string("tok")));
}

TEST(RouterDispatch, ModelTagsRouteToWorkersThatServeThem) {
  Bus bus;
  auto a = bus.startEcho("llama-worker", {"--model", "llama"});
  auto b = bus.startEcho("qwen-worker", {"--model", "qwen,mistral"});
  auto client = bus.client();
  CallOptions o;
  for (int i = 0; i < 20; ++i) {
    o.model = i % 2 ? "llama" : "mistral";
    ASSERT_TRUE(client->call("echo", "echo", "x", o).status.ok());
  }
  EXPECT_EQ(bus.workerStats("echo", "llama-worker")["handled"], 10);
  EXPECT_EQ(bus.workerStats("echo", "qwen-worker")["handled"], 10);
  o.model = "gemma";
  o.deadline = 300ms;
  EXPECT_EQ(client->call("echo", "echo", "x", o).status.code, ErrorCode::kDeadlineExceeded);
}

TEST(RouterDispatch, FullQueueGivesResourceExhausted) {
  Bus bus({"--queue-size", "2"});
  auto w = bus.startEcho("one", {"--capacity", "1", "--delay-ms", "300"});
  auto client = bus.client();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client->send("echo", "echo", "x"));
  std::map<uint64_t, ErrorCode> ended;
  std::vector<uint64_t> order;
  while (ended.size() < 5) {
    auto in = client->next(5s);
    ASSERT_TRUE(in.has_value());
    ended[in->id] = in->code;
    order.push_back(in->id);
  }
  // One in service, two queued, two refused at once (so they end first).
  EXPECT_EQ(ended[ids[3]], ErrorCode::kResourceExhausted);
  EXPECT_EQ(ended[ids[4]], ErrorCode::kResourceExhausted);
  EXPECT_EQ(order[0], ids[3]);
  EXPECT_EQ(order[1], ids[4]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ended[ids[i]], ErrorCode::kOk);
  EXPECT_EQ(bus.status()["counters"]["resource_exhausted"], 2);
}

TEST(RouterDispatch, ExpiredDeadlineGivesDeadlineExceededAndTheWorkerSeesTheCancel) {
  Bus bus;
  auto w = bus.startEcho("sleepy", {"--capacity", "1", "--delay-ms", "3000"});
  auto client = bus.client();
  CallOptions o;
  o.deadline = 200ms;
  uint64_t running = client->send("echo", "echo", "x", o);
  uint64_t queued = client->send("echo", "echo", "y", o);
  std::map<uint64_t, Incoming> ended;
  auto start = SteadyClock::now();
  while (ended.size() < 2) {
    auto in = client->next(2s);
    ASSERT_TRUE(in.has_value()) << "no answer at the deadline";
    ended[in->id] = *in;
  }
  EXPECT_LT(SteadyClock::now() - start, 1s);
  EXPECT_EQ(ended[running].code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(ended[queued].code, ErrorCode::kDeadlineExceeded);
  EXPECT_NE(ended[queued].message.find("queued"), std::string::npos) << ended[queued].message;
  EXPECT_TRUE(waitUntil([&] { return bus.workerStats("echo", "sleepy")["cancelled"] == 1; }, 3s));
  // The worker's final CANCELLED frame released the router's slot.
  EXPECT_TRUE(waitUntil([&] { return bus.status()["workers"][0]["inflight"] == 0; }, 3s));
}

TEST(RouterDispatch, ClientCancelEndsTheRequestAndReachesTheWorker) {
  Bus bus;
  auto w = bus.startEcho("sleepy", {"--delay-ms", "3000"});
  auto client = bus.client();
  uint64_t id = client->send("echo", "echo", "x");
  ASSERT_TRUE(waitUntil([&] { return bus.workerStats("echo", "sleepy")["inflight"] == 1; }, 3s));
  client->cancel(id);
  auto in = client->next(2s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->code, ErrorCode::kCancelled);
  EXPECT_TRUE(waitUntil([&] { return bus.workerStats("echo", "sleepy")["cancelled"] == 1; }, 3s));
  EXPECT_EQ(bus.workerStats("echo", "sleepy")["inflight"], 0);
}

// (Once the router's start-up window is over: --no-worker-grace-ms 0 closes it at once.)
TEST(RouterDispatch, UnknownServiceIsUnavailableAtOnce) {
  Bus bus({"--no-worker-grace-ms", "0"});
  auto client = bus.client();
  auto r = client->call("nosuch", "op", "");
  EXPECT_EQ(r.status.code, ErrorCode::kUnavailable);
  // ...and leaves no trace in the router's state.
  EXPECT_TRUE(bus.status()["services"].empty());
}

TEST(RouterDispatch, AdminRequestsReachOneWorkerByName) {
  Bus bus;
  auto a = bus.startEcho("a");
  auto b = bus.startEcho("b");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bus.workerStats("echo", "b")["name"], "b");
  }
  auto client = bus.client();
  CallOptions o;
  o.target = "zzz";
  EXPECT_EQ(client->call("echo", "worker.ping", "", o).status.code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace sb::test
