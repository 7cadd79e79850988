// The router's timing rules in simulated time: heartbeats and removal, deadlines (queued and
// running), the time left sent to workers, cool-down, drain, and the grace for a service with
// no live worker. Exact times, no sleeping.
#include "router_sim.h"
#include "sb/proto/body_codec.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::Kind;

proto::Announcement announcement(const std::string& name, uint32_t capacity = 4) {
  proto::Announcement a;
  a.name = name;
  a.service = "svc";
  a.capacity = capacity;
  a.heartbeat_ms = 1000;
  a.liveness = 3;
  return a;
}

class RouterTiming : public RouterSim {};

// A worker silent for heartbeat x liveness (3 s) plus one tick is removed at the next tick;
// its request in flight ends UNAVAILABLE.
TEST_F(RouterTiming, ASilentWorkerIsRemovedAfterHeartbeatTimesLivenessPlusATick) {
  auto w = rawWorker();
  w->ready(announcement("quiet"));
  settle();
  ASSERT_TRUE(registered("quiet"));
  auto c = client();
  c->request(1, "svc", "op");
  settle();
  ASSERT_EQ(w->received().size(), 1u);  // the request reached it
  advance(3100ms);
  EXPECT_TRUE(registered("quiet"));  // 3.1 s of silence is not more than 3 s + 100 ms
  EXPECT_TRUE(c->received().empty());
  advance(100ms);
  EXPECT_FALSE(registered("quiet"));
  auto got = c->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, ErrorCode::kUnavailable);
  EXPECT_NE(got[0].message.find("missed its heartbeats"), std::string::npos) << got[0].message;
}

// A worker removed for silence that speaks again (it was frozen, not dead) is told at once to
// announce itself (a bye), and joins again on its next announcement.
TEST_F(RouterTiming, AWorkerTimedOutThatSpeaksAgainIsAskedToAnnounceAndRejoins) {
  auto w = rawWorker();
  w->ready(announcement("thawed"));
  settle();
  ASSERT_TRUE(registered("thawed"));
  advance(3200ms);
  ASSERT_FALSE(registered("thawed"));
  w->received(true);
  w->control(Kind::kHeartbeat);
  settle();
  auto got = w->received(true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kBye);
  w->ready(announcement("thawed"));
  settle();
  EXPECT_TRUE(registered("thawed"));
}

TEST_F(RouterTiming, TheRouterHeartbeatsEachWorkerAtItsAnnouncedInterval) {
  auto w = rawWorker();
  auto a = announcement("hb");
  a.heartbeat_ms = 300;
  w->ready(a);
  settle();
  w->received(true);  // the registration acknowledgement
  for (int i = 0; i < 10; ++i) {
    advance(100ms);
    w->control(Kind::kHeartbeat);  // stays alive
  }
  size_t beats = 0;
  for (const auto& r : w->received(true)) beats += r.kind == Kind::kHeartbeat;
  EXPECT_EQ(beats, 3u);  // at 300, 600 and 900 ms
}

TEST_F(RouterTiming, AnIdempotentRequestOnAWorkerThatDiedRunsAgainElsewhere) {
  auto dead = rawWorker();
  dead->ready(announcement("dead", 1));
  settle();
  auto c = client();
  c->request(1, "svc", "op", "x", 0, /*idempotent=*/true);
  settle();
  ASSERT_EQ(dead->received().size(), 1u);
  auto alive = rawWorker();
  alive->ready(announcement("alive", 1));
  advance(3200ms, {alive.get()});  // `dead` says nothing more
  auto got = alive->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 1u);
  alive->answer(got[0].envelope, 1, Kind::kReply, ErrorCode::kOk, "done");
  settle();
  auto answers = c->received();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].kind, Kind::kReply);
  EXPECT_EQ(status()["counters"]["redispatched"], 1);
}

TEST_F(RouterTiming, AQueuedRequestEndsAtItsDeadline) {
  std::vector<CallPtr> held;
  worker("busy", "svc", 1,
         [&](Worker& w) { w.handle("op", [&](const CallPtr& call) { held.push_back(call); }); });
  auto c = client();
  c->request(1, "svc", "op", "", 10000);
  c->request(2, "svc", "op", "", 500);  // waits: capacity 1
  settle();
  advance(490ms);
  EXPECT_TRUE(c->received().empty());
  advance(20ms);
  auto got = c->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 2u);
  EXPECT_EQ(got[0].code, ErrorCode::kDeadlineExceeded);
  EXPECT_NE(got[0].message.find("while queued"), std::string::npos);
}

// Past its deadline a running request ends for the client and is cancelled on the worker;
// the worker's slot stays counted until its final frame comes.
TEST_F(RouterTiming, ARunningRequestPastItsDeadlineIsCancelledOnTheWorker) {
  auto w = rawWorker();
  w->ready(announcement("slow", 1));
  settle();
  auto c = client();
  c->request(1, "svc", "op", "", 700);
  c->request(2, "svc", "op", "", 5000);  // queued behind it
  settle();
  auto first = w->received();
  ASSERT_EQ(first.size(), 1u);
  advance(710ms);
  auto got = c->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, ErrorCode::kDeadlineExceeded);
  auto cancel = w->received();
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].kind, Kind::kCancel);
  EXPECT_EQ(cancel[0].id, 1u);
  // Request 2 waits for the slot: the worker has not acknowledged the cancel yet.
  advance(500ms, {w.get()});
  EXPECT_TRUE(w->received().empty());
  w->answer(first[0].envelope, 1, Kind::kError, ErrorCode::kCancelled);
  settle();
  auto next = w->received();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, 2u);
}

// The worker gets the time left: here the request waited 400 ms in the queue.
TEST_F(RouterTiming, TheWorkerReceivesTheTimeLeftNotTheOriginalDeadline) {
  auto w = rawWorker();
  w->ready(announcement("w", 1));
  settle();
  auto c = client();
  c->request(1, "svc", "op", "", 10000);
  c->request(2, "svc", "op", "", 3000);
  settle();
  auto got = w->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].deadline_ms, 10000u);
  advance(400ms, {w.get()});
  w->answer(got[0].envelope, 1, Kind::kReply);
  settle();
  got = w->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 2u);
  EXPECT_EQ(got[0].deadline_ms, 2600u);
}

TEST_F(RouterTiming, ARequestWithoutADeadlineGetsTheRoutersDefaultAsTimeLeft) {
  auto w = rawWorker();
  w->ready(announcement("w", 1));
  settle();
  auto c = client();
  c->request(1, "svc", "op");
  settle();
  auto got = w->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].deadline_ms, 300000u);
}

// "dl": 0 means the same as no "dl" (PROTOCOL.md 3): the worker gets the default's time left,
// not 0, even though the client's encoding of 0 is a single byte.
TEST_F(RouterTiming, ADeadlineOfZeroIsTheRoutersDefaultForTheWorkerToo) {
  auto w = rawWorker();
  w->ready(announcement("w", 1));
  settle();
  auto c = client();
  proto::Header h;
  h.kind = Kind::kRequest;
  h.id = 1;
  h.service = "svc";
  h.op = "op";
  std::string frame = proto::encodeHeader(h);  // no "dl" yet: add one holding 0
  c->sendFrames({proto::withDeadline(frame, 0), ""});
  settle();
  auto got = w->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].deadline_ms, 300000u);
  EXPECT_EQ(got[0].id, 1u);
}

// nginx's max_fails / fail_timeout: three failures within 10 s cool the worker down for 10 s;
// meanwhile the other worker takes everything; afterwards both share again.
TEST_F(RouterTiming, AFailingWorkerCoolsDownThenComesBack) {
  auto bad = rawWorker();
  auto good = rawWorker();
  bad->ready(announcement("bad", 8));
  good->ready(announcement("good", 8));
  settle();
  auto c = client();
  uint64_t id = 0;
  // Three failures from `bad` (requests go one at a time; least-conn alternates on ties).
  int failures = 0;
  while (failures < 3 && id < 20) {
    c->request(++id, "svc", "op");
    settle();
    for (const auto& r : bad->received()) {
      bad->answer(r.envelope, r.id, Kind::kError, ErrorCode::kInternal);
      ++failures;
    }
    for (const auto& r : good->received()) good->answer(r.envelope, r.id, Kind::kReply);
    settle();
  }
  ASSERT_EQ(failures, 3);
  c->received();
  int to_bad = 0;
  for (int i = 0; i < 6; ++i) {
    c->request(++id, "svc", "op");
    settle();
    to_bad += static_cast<int>(bad->received().size());
    for (const auto& r : good->received()) good->answer(r.envelope, r.id, Kind::kReply);
    settle();
    bad->control(Kind::kHeartbeat);
    good->control(Kind::kHeartbeat);
  }
  EXPECT_EQ(to_bad, 0);
  advance(10s, {bad.get(), good.get()});
  for (int i = 0; i < 6; ++i) {
    c->request(++id, "svc", "op");
    settle();
    for (const auto& r : bad->received()) {
      ++to_bad;
      bad->answer(r.envelope, r.id, Kind::kReply);
    }
    for (const auto& r : good->received()) good->answer(r.envelope, r.id, Kind::kReply);
    settle();
  }
  EXPECT_GT(to_bad, 0);
}

// router.drain: the worker is told to drain and gets nothing new; its bye removes it.
TEST_F(RouterTiming, ADrainedWorkerGetsNoNewWorkAndLeavesOnBye) {
  auto a = rawWorker();
  auto b = rawWorker();
  a->ready(announcement("a"));
  b->ready(announcement("b", 8));
  settle();
  admin_->request(7, "router", "drain",
                  proto::packBody(std::map<std::string, std::string>{{"worker", "a"}}));
  settle();
  auto told = a->received();
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, Kind::kDrain);
  auto c = client();
  for (uint64_t id = 1; id <= 5; ++id) c->request(id, "svc", "op");
  settle();
  EXPECT_TRUE(a->received().empty());
  EXPECT_EQ(b->received().size(), 5u);
  a->control(Kind::kBye);
  settle();
  EXPECT_FALSE(registered("a"));
}

// With every worker of a service gone (or draining), requests wait a grace (3 s by default)
// for one to come back, then end UNAVAILABLE; once the grace has passed, new ones end at once.
TEST_F(RouterTiming, WithNoLiveWorkerRequestsEndUnavailableAfterTheGrace) {
  auto w = rawWorker();
  w->ready(announcement("only"));
  settle();
  w->control(Kind::kBye);
  settle();
  auto c = client();
  c->request(1, "svc", "op", "", 60000);
  advance(2900ms);
  EXPECT_TRUE(c->received().empty());  // waiting for a worker to come back
  advance(200ms);
  auto got = c->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, ErrorCode::kUnavailable);
  EXPECT_NE(got[0].message.find("no live worker"), std::string::npos) << got[0].message;
  c->request(2, "svc", "op", "", 60000);
  settle();
  got = c->received();
  ASSERT_EQ(got.size(), 1u);  // at once
  EXPECT_EQ(got[0].code, ErrorCode::kUnavailable);
}

TEST_F(RouterTiming, AWorkerComingBackWithinTheGraceTakesTheWaitingRequests) {
  auto old_worker = rawWorker();
  old_worker->ready(announcement("v1"));
  settle();
  old_worker->control(Kind::kDrain);  // a rolling restart: the old one drains...
  settle();
  auto c = client();
  c->request(1, "svc", "op", "", 60000);
  advance(1500ms, {old_worker.get()});
  auto replacement = rawWorker();  // ...and its replacement registers
  replacement->ready(announcement("v2"));
  settle();
  auto got = replacement->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 1u);
}

class RouterNoGrace : public RouterSim {
  void configure(router::RouterOptions& o) override { o.no_worker_grace = Millis(0); }
};

TEST_F(RouterNoGrace, TheLastByeFailsTheQueueAtTheNextTick) {
  std::vector<CallPtr> held;
  auto w = rawWorker();
  w->ready(announcement("only", 1));
  settle();
  auto c = client();
  c->request(1, "svc", "op", "", 60000);
  c->request(2, "svc", "op", "", 60000);  // queued
  settle();
  w->control(Kind::kBye);
  advance(100ms);
  auto got = c->received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) EXPECT_EQ(r.code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace sb::test
