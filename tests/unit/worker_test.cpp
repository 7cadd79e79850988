// The worker library against a scripted router end (inproc), in simulated time: registration,
// the link's silence rule and reconnect backoff, cancels, drain, the handler exception
// boundary, and the use-after-free that dropping calls once had.
#include <gtest/gtest.h>

#include <stdexcept>

#include "fake_router.h"
#include "sb/bus/worker.h"
#include "sb/proto/announcement.h"
#include "sb/proto/body_codec.h"

namespace sb {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::Kind;
using test::FakeRouter;
using Msg = FakeRouter::Message;

class WorkerSim : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.routers = {router_.endpoint()};
    options_.service = "test";
    options_.name = "w1";
    options_.capacity = 4;
  }

  void start() {
    worker_ = std::make_unique<Worker>(ctx_, loop_, options_);
    worker_->handle("echo", [](const CallPtr& c) { c->reply(c->body()); });
    worker_->handle("hold", [this](const CallPtr& c) { held_.push_back(c); });
    worker_->onRegistered([this] { ++registered_; });
    worker_->onDrained([this] { ++drained_; });
    worker_->start();
  }
  // Lets the worker handle what is waiting, without moving time.
  void step() { loop_.runOnce(0ms); }
  // The next non-heartbeat message; fails the test if there is none.
  Msg next() {
    step();
    auto got = router_.receivedExceptHeartbeats();
    pending_.insert(pending_.end(), got.begin(), got.end());
    if (pending_.empty()) {
      ADD_FAILURE() << "the worker sent nothing";
      return {};
    }
    Msg m = pending_.front();
    pending_.erase(pending_.begin());
    return m;
  }
  // Moves time on with the router heartbeating, so the link stays up.
  void keepAlive(const std::string& identity, SteadyClock::duration d) {
    for (auto left = d; left > SteadyClock::duration::zero(); left -= 500ms) {
      router_.control(identity, Kind::kHeartbeat);
      loop_.advance(std::min<SteadyClock::duration>(left, 500ms));
    }
  }
  bool quiet() {
    step();
    auto got = router_.receivedExceptHeartbeats();
    pending_.insert(pending_.end(), got.begin(), got.end());
    return pending_.empty();
  }
  // Starts the worker and acknowledges its announcement.
  std::string registered() {
    start();
    Msg ready = next();
    EXPECT_EQ(ready.kind, Kind::kReady);
    router_.control(ready.identity, Kind::kHeartbeat);
    step();
    EXPECT_EQ(registered_, 1);
    return ready.identity;
  }

  zmq::context_t ctx_{1};
  ManualClock clock_;
  SeededRandom random_{7};
  EventLoop loop_{clock_, random_};
  FakeRouter router_{ctx_};
  WorkerOptions options_;
  std::unique_ptr<Worker> worker_;
  std::vector<CallPtr> held_;
  std::vector<Msg> pending_;
  int registered_ = 0;
  int drained_ = 0;
};

TEST_F(WorkerSim, AnnouncesItselfAndIsRegisteredByTheRoutersAnswer) {
  start();
  Msg ready = next();
  ASSERT_EQ(ready.kind, Kind::kReady);
  EXPECT_EQ(ready.service, "test");
  proto::Announcement a;
  ASSERT_TRUE(proto::decodeAnnouncement(ready.body, {}, a).ok());
  EXPECT_EQ(a.name, "w1");
  EXPECT_EQ(a.capacity, 4u);
  EXPECT_EQ(a.heartbeat_ms, 1000u);
  EXPECT_NE(a.instance, 0u);
  EXPECT_EQ(registered_, 0);  // not before the router answered
  router_.control(ready.identity, Kind::kHeartbeat);
  step();
  EXPECT_EQ(registered_, 1);
}

// A router that never answers: the link counts as lost after heartbeat x liveness of silence
// (checked on the heartbeat tick), and the worker connects again after 1 s, 2 s, 4 s...
TEST_F(WorkerSim, ASilentRouterIsReconnectedWithDoublingBackoff) {
  TimePoint t0 = clock_.now();
  start();
  std::vector<int64_t> announced_at;
  for (int i = 0; i < 200 && announced_at.size() < 5; ++i) {
    for (const auto& m : router_.receivedExceptHeartbeats()) {
      if (m.kind == Kind::kReady)
        announced_at.push_back(std::chrono::duration_cast<Millis>(clock_.now() - t0).count());
    }
    loop_.advance(250ms);
  }
  // Connected at t, silent once more than 3000 ms passed at a tick (t + 4000), then back
  // after 1000, 2000, 4000, 8000 ms.
  EXPECT_EQ(announced_at, (std::vector<int64_t>{0, 5000, 11000, 19000, 31000}));
}

TEST_F(WorkerSim, HearingFromTheRouterResetsTheBackoff) {
  start();
  for (int i = 0; i < 2; ++i) loop_.advance(6000ms);  // two losses: the next wait is 4 s
  Msg ready;
  for (auto& m : router_.receivedExceptHeartbeats()) ready = m;
  router_.control(ready.identity, Kind::kHeartbeat);
  step();
  ASSERT_EQ(registered_, 1);
  router_.received();
  // Silent again: lost at the first tick more than 3 s after the last word, back 1 s later.
  TimePoint heard = clock_.now();
  int64_t back_after = -1;
  for (int i = 0; i < 40 && back_after < 0; ++i) {
    loop_.advance(250ms);
    for (const auto& m : router_.receivedExceptHeartbeats()) {
      if (m.kind == Kind::kReady)
        back_after = std::chrono::duration_cast<Millis>(clock_.now() - heard).count();
    }
  }
  EXPECT_GE(back_after, 4000);
  EXPECT_LE(back_after, 5000 + 250);
}

TEST_F(WorkerSim, RepliesGoBackUnderTheRequestsEnvelopeAndId) {
  std::string w = registered();
  router_.request(w, "client-a", 7, "echo", "payload");
  Msg m = next();
  EXPECT_EQ(m.kind, Kind::kReply);
  EXPECT_EQ(m.envelope, "client-a");
  EXPECT_EQ(m.id, 7u);
  EXPECT_EQ(m.body, "payload");
}

TEST_F(WorkerSim, TheDeadlineIsTheTimeLeftTheRouterSent) {
  std::string w = registered();
  TimePoint deadline{};
  worker_->handle("when", [&](const CallPtr& c) {
    deadline = c->deadline();
    c->reply("");
  });
  router_.request(w, "c", 1, "when", "", 1500);
  next();
  EXPECT_EQ(deadline, loop_.now() + 1500ms);
}

TEST_F(WorkerSim, ACancelFromTheRouterRunsTheCallbackAndAnswersCancelled) {
  std::string w = registered();
  int cancels = 0;
  worker_->handle("wait", [&](const CallPtr& c) {
    held_.push_back(c);
    c->onCancel([&] { ++cancels; });
  });
  router_.request(w, "c", 1, "wait");
  step();
  router_.cancel(w, "c", 1);
  Msg m = next();
  EXPECT_EQ(m.kind, Kind::kError);
  EXPECT_EQ(m.code, ErrorCode::kCancelled);
  EXPECT_EQ(cancels, 1);
  held_.clear();
  EXPECT_TRUE(quiet());  // a cancelled call sends nothing more, even when released
}

// The use-after-free the worker library once had: a handler holds calls in a list (a wait
// list, a single-flight group) and its cancel callback clears the list, releasing the other
// calls. Dropping the calls of a link ran over raw pointers to them. Under ASan this test
// failed with heap-use-after-free.
class HeldTogether : public WorkerSim {
 protected:
  void SetUp() override {
    WorkerSim::SetUp();
    identity_ = registered();
    worker_->handle("group", [this](const CallPtr& c) {
      group_.push_back(c);
      c->onCancel([this] {
        ++cancels_;
        group_.clear();  // releases every call of the group
      });
    });
    router_.request(identity_, "c", 1, "group");
    router_.request(identity_, "c", 2, "group");
    step();
    ASSERT_EQ(group_.size(), 2u);
    ASSERT_EQ(worker_->stats().inflight, 2u);
  }
  std::string identity_;
  std::vector<CallPtr> group_;
  int cancels_ = 0;
};

TEST_F(HeldTogether, TheRoutersByeDropsThemSafely) {
  router_.control(identity_, Kind::kBye);
  step();
  EXPECT_EQ(worker_->stats().inflight, 0u);
  EXPECT_GE(cancels_, 1);
  // Dropped silently (the router failed them already), then announced again.
  std::vector<Kind> kinds;
  for (const auto& m : router_.receivedExceptHeartbeats()) kinds.push_back(m.kind);
  EXPECT_EQ(kinds, std::vector<Kind>{Kind::kReady});
}

TEST_F(HeldTogether, ASilentRouterDropsThemSafely) {
  loop_.advance(5000ms);
  EXPECT_EQ(worker_->stats().inflight, 0u);
  EXPECT_GE(cancels_, 1);
}

TEST_F(HeldTogether, TheDrainTimeoutFailsThemSafely) {
  worker_->drain();
  keepAlive(identity_, 61s);
  EXPECT_EQ(worker_->stats().inflight, 0u);
  int unavailable = 0;
  for (const auto& m : router_.receivedExceptHeartbeats()) {
    if (m.kind == Kind::kError && m.code == ErrorCode::kUnavailable) ++unavailable;
  }
  EXPECT_EQ(unavailable, 2);
}

// The exception boundary: a handler that throws fails its own call with INTERNAL; the process
// and the other calls in flight carry on.
TEST_F(WorkerSim, AHandlerThatThrowsFailsOnlyItsCall) {
  std::string w = registered();
  worker_->handle("throws", [](const CallPtr&) { throw std::runtime_error("boom"); });
  worker_->handle("badcast", [](const CallPtr& c) {
    msgpack::object_handle oh;
    (void)c->decodeBody(oh);
    c->reply(oh.get().as<std::string>());  // the body is an integer: msgpack throws
  });
  router_.request(w, "c", 1, "hold");
  router_.request(w, "c", 2, "throws");
  router_.request(w, "c", 3, "badcast", proto::packBody(42));
  Msg m2 = next();
  Msg m3 = next();
  EXPECT_EQ(m2.id, 2u);
  EXPECT_EQ(m2.code, ErrorCode::kInternal);
  EXPECT_NE(m2.error.find("boom"), std::string::npos) << m2.error;
  EXPECT_EQ(m3.id, 3u);
  EXPECT_EQ(m3.code, ErrorCode::kInternal);
  EXPECT_EQ(worker_->stats().failed, 2u);
  ASSERT_EQ(held_.size(), 1u);  // the first call is still being served
  held_[0]->reply("still here");
  Msg m1 = next();
  EXPECT_EQ(m1.id, 1u);
  EXPECT_EQ(m1.body, "still here");
  router_.request(w, "c", 4, "echo", "and more");
  EXPECT_EQ(next().body, "and more");
}

TEST_F(WorkerSim, ACancelCallbackThatThrowsIsContained) {
  std::string w = registered();
  worker_->handle("wait", [&](const CallPtr& c) {
    held_.push_back(c);
    c->onCancel([] { throw std::runtime_error("cancel boom"); });
  });
  router_.request(w, "c", 1, "wait");
  step();
  router_.cancel(w, "c", 1);
  Msg m = next();
  EXPECT_EQ(m.code, ErrorCode::kCancelled);
  EXPECT_EQ(loop_.callbackErrors(), 1u);
  router_.request(w, "c", 2, "echo", "alive");
  EXPECT_EQ(next().body, "alive");
}

TEST_F(WorkerSim, OverCapacityAndDuplicateIdsAreRefused) {
  std::string w = registered();
  for (uint64_t id = 1; id <= 4; ++id) router_.request(w, "c", id, "hold");
  router_.request(w, "c", 5, "hold");
  Msg m = next();
  EXPECT_EQ(m.id, 5u);
  EXPECT_EQ(m.code, ErrorCode::kResourceExhausted);
  router_.request(w, "c", 1, "hold");
  m = next();
  EXPECT_EQ(m.id, 1u);
  EXPECT_EQ(m.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(held_.size(), 4u);
}

TEST_F(WorkerSim, DrainWaitsForTheRoutersAckAndTheCallsInFlightThenSaysBye) {
  std::string w = registered();
  router_.request(w, "c", 1, "hold");
  step();
  worker_->drain();
  EXPECT_EQ(next().kind, Kind::kDrain);
  router_.control(w, Kind::kDrain);  // the router's acknowledgement
  EXPECT_TRUE(quiet());              // a call is still in flight
  held_[0]->reply("done");
  EXPECT_EQ(next().kind, Kind::kReply);
  EXPECT_EQ(next().kind, Kind::kBye);
  step();
  EXPECT_EQ(drained_, 1);
}

// A router that refuses the announcement (a duplicate name, say) leaves the worker
// unregistered; it tries again after the backoff.
TEST_F(WorkerSim, ARefusedAnnouncementIsRetriedAfterTheBackoff) {
  start();
  Msg ready = next();
  router_.refuse(ready.identity, "a live worker is named 'w1'");
  step();
  EXPECT_EQ(registered_, 0);
  EXPECT_TRUE(quiet());
  loop_.advance(1000ms);
  Msg again = next();
  EXPECT_EQ(again.kind, Kind::kReady);
  EXPECT_NE(again.identity, ready.identity);  // a new connection
}

}  // namespace
}  // namespace sb
