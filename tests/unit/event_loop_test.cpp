#include <gtest/gtest.h>

#include <unistd.h>

#include <stdexcept>

#include "sb/core/event_loop.h"

namespace sb {
namespace {

using namespace std::chrono_literals;

// A loop over simulated time: advance() moves the clock timer by timer.
struct SimLoop {
  ManualClock clock;
  SeededRandom random{1};
  EventLoop loop{clock, random};
};

TEST(EventLoop, TimersFireInDeadlineOrderAtTheirTimeAndCancelledOnesDoNot) {
  SimLoop s;
  TimePoint start = s.clock.now();
  std::vector<std::pair<int, SteadyClock::duration>> fired;
  auto at = [&](int n) { fired.emplace_back(n, s.clock.now() - start); };
  auto t3 = s.loop.after(30ms, [&] { at(3); });
  auto t1 = s.loop.after(10ms, [&] { at(1); });
  auto t2 = s.loop.after(20ms, [&] { at(2); });
  t2.cancel();
  s.loop.advance(25ms);
  EXPECT_EQ(fired, (std::vector<std::pair<int, SteadyClock::duration>>{{1, 10ms}}));
  EXPECT_FALSE(t1.active());  // a one-shot that ran is no longer registered
  EXPECT_TRUE(t3.active());
  s.loop.advance(5ms);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1], std::make_pair(3, SteadyClock::duration(30ms)));
}

TEST(EventLoop, DestroyingAHandleCancelsItsCallback) {
  SimLoop s;
  int ran = 0;
  {
    auto t = s.loop.after(1ms, [&] { ++ran; });
  }
  LoopHandle kept = s.loop.after(1ms, [&] { ++ran; });
  LoopHandle moved = std::move(kept);
  s.loop.advance(2ms);
  EXPECT_EQ(ran, 1);  // only the moved one, once
}

TEST(EventLoop, PeriodicTimerRepeatsUntilCancelledFromItsOwnCallback) {
  SimLoop s;
  int n = 0;
  LoopHandle t;
  t = s.loop.every(1ms, [&] {
    if (++n == 5) t.cancel();
  });
  s.loop.advance(100ms);
  EXPECT_EQ(n, 5);
}

TEST(EventLoop, FileDescriptorsJoinThePoll) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string got;
  LoopHandle watch;
  watch = loop.addFd(fds[0], ZMQ_POLLIN, [&](short) {
    char buf[16];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    got.append(buf, static_cast<size_t>(n));
    watch.cancel();
    loop.stop();
  });
  ASSERT_EQ(write(fds[1], "hi", 2), 2);
  loop.run();
  EXPECT_EQ(got, "hi");
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoop, ZmqSocketsJoinThePoll) {
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.bind("inproc://loop-test");
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.connect("inproc://loop-test");
  EventLoop loop;
  int received = 0;
  auto watch = loop.addSocket(pull, [&] {
    zmq::message_t m;
    while (pull.recv(m, zmq::recv_flags::dontwait)) ++received;
    if (received == 3) loop.stop();
  });
  for (int i = 0; i < 3; ++i) push.send(zmq::str_buffer("x"));
  loop.run();
  EXPECT_EQ(received, 3);
}

// Work deferred with beforePoll runs once, in order, before the loop next waits, including work
// that deferred work defers; a file descriptor it enables joins that very poll.
TEST(EventLoop, BeforePollWorkRunsOnceBeforeTheNextWait) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  std::vector<std::string> order;
  auto watch = loop.addFd(fds[0], 0, [&](short) { order.push_back("readable"); });
  LoopHandle b;
  auto a = loop.beforePoll([&] {
    order.push_back("a");
    b = loop.beforePoll([&] { order.push_back("b"); });
  });
  auto c = loop.beforePoll([&] {
    order.push_back("c");
    loop.setEvents(watch, ZMQ_POLLIN);
  });
  auto cancelled = loop.beforePoll([&] { order.push_back("never"); });
  cancelled.cancel();
  loop.runOnce(5s);  // the fd is readable, so this does not wait
  EXPECT_EQ(order, (std::vector<std::string>{"a", "c", "b", "readable"}));
  watch.cancel();
  loop.runOnce(0ms);
  EXPECT_EQ(order.size(), 4u);  // nothing ran twice
  close(fds[0]);
  close(fds[1]);
}

// The last boundary: a callback that throws ends only itself; the loop counts it and every
// other callback of the round still runs.
TEST(EventLoop, ACallbackThatThrowsFailsOnlyItself) {
  SimLoop s;
  std::vector<int> ran;
  auto t1 = s.loop.after(1ms, [&] {
    ran.push_back(1);
    throw std::runtime_error("boom");
  });
  auto t2 = s.loop.after(1ms, [&] { ran.push_back(2); });
  s.loop.post([&] { throw 42; });  // not even a std::exception
  s.loop.advance(1ms);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(s.loop.callbackErrors(), 2u);
}

// Deferred deletion: an object handed over inside a callback is still there for the rest of
// that round, and gone once the round is over.
TEST(EventLoop, DeleteLaterDestroysOnceTheRoundIsOver) {
  struct Probe {
    bool* destroyed;
    ~Probe() { *destroyed = true; }
  };
  SimLoop s;
  bool destroyed = false;
  bool seen_alive_after_handing_over = false;
  auto t = s.loop.after(1ms, [&] {
    std::unique_ptr<Probe> p(new Probe{&destroyed});
    s.loop.deleteLater(std::move(p));
    seen_alive_after_handing_over = !destroyed;
  });
  s.loop.advance(1ms);
  EXPECT_TRUE(seen_alive_after_handing_over);
  EXPECT_TRUE(destroyed);
}

TEST(EventLoop, SimulatedTimeMovesTheWallClockToo) {
  SimLoop s;
  WallTime wall = s.loop.wallNow();
  s.loop.advance(1500ms);
  EXPECT_EQ(unixMillis(s.loop.wallNow()) - unixMillis(wall), 1500);
}

}  // namespace
}  // namespace sb
