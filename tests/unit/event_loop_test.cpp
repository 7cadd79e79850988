#include <gtest/gtest.h>

#include <unistd.h>

#include "sb/core/event_loop.h"

namespace sb {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelledOnesDoNot) {
  EventLoop loop;
  std::vector<int> fired;
  loop.after(30ms, [&] { fired.push_back(3); });
  loop.after(10ms, [&] { fired.push_back(1); });
  auto id = loop.after(20ms, [&] { fired.push_back(2); });
  loop.after(40ms, [&] { loop.stop(); });
  loop.cancel(id);
  loop.run();
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST(EventLoop, PeriodicTimerRepeatsUntilCancelledFromItsOwnCallback) {
  EventLoop loop;
  int n = 0;
  EventLoop::TimerId id = 0;
  id = loop.every(1ms, [&] {
    if (++n == 5) {
      loop.cancel(id);
      loop.after(5ms, [&] { loop.stop(); });
    }
  });
  loop.run();
  EXPECT_EQ(n, 5);
}

TEST(EventLoop, FileDescriptorsJoinThePoll) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string got;
  loop.addFd(fds[0], ZMQ_POLLIN, [&](short) {
    char buf[16];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    got.append(buf, static_cast<size_t>(n));
    loop.removeFd(fds[0]);
    loop.stop();
  });
  loop.after(5ms, [&] { ASSERT_EQ(write(fds[1], "hi", 2), 2); });
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
  loop.addSocket(pull, [&] {
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
  loop.addFd(fds[0], 0, [&](short) { order.push_back("readable"); });
  loop.beforePoll([&] {
    order.push_back("a");
    loop.beforePoll([&] { order.push_back("b"); });
  });
  loop.beforePoll([&] {
    order.push_back("c");
    loop.setFdEvents(fds[0], ZMQ_POLLIN);
  });
  loop.runOnce(5s);  // the fd is readable, so this does not wait
  EXPECT_EQ(order, (std::vector<std::string>{"a", "c", "b", "readable"}));
  loop.removeFd(fds[0]);
  loop.runOnce(0ms);
  EXPECT_EQ(order.size(), 4u);  // nothing ran twice
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace sb
