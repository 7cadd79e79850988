// Several routers side by side (PROTOCOL.md 4.5): the client library sends each request to a
// live router, a draining router hands new requests back and finishes its own, and a router
// that dies is noticed instead of leaving its requests hanging. Real sb-router and sb-echo
// processes; the client library on this thread's loop.
#include <gtest/gtest.h>

#include <csignal>

#include "bus.h"
#include "sb/bus/async_client.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::Kind;

// An echo worker registered with every router given.
Process echoOn(const std::vector<Bus*>& routers, const std::string& name,
               std::vector<std::string> args) {
  std::string eps;
  for (Bus* b : routers) eps += (eps.empty() ? "" : ",") + b->backend();
  std::vector<std::string> all{"--router", eps, "--name", name, "--capacity", "64"};
  all.insert(all.end(), args.begin(), args.end());
  Process p = Process::start("sb-echo", all);
  if (!p.awaitReady(10s)) throw std::runtime_error("sb-echo did not start: " + p.log());
  for (Bus* b : routers) {
    if (!waitUntil([&] { return b->hasWorker(name); }, 10s)) {
      throw std::runtime_error(name + " did not register with " + b->backend());
    }
  }
  return p;
}

// Runs `loop` until `done` holds; a safety bound (not a measurement) fails the test instead of
// hanging it.
void runUntil(EventLoop& loop, const std::function<bool()>& done, Millis bound = 60s) {
  TimePoint give_up = SteadyClock::now() + bound;
  while (!done()) {
    ASSERT_LT(SteadyClock::now(), give_up) << "gave up waiting";
    loop.runOnce(50ms);
  }
}

TEST(MultiRouter, DrainingARouterUnderLoadFailsNoRequest) {
  Bus a({"--drain-timeout-ms", "20000"});
  Bus b;
  Process echo = echoOn({&a, &b}, "e1", {"--delay-ms", "100"});
  EventLoop loop;
  AsyncClient client(a.context(), loop, {a.frontend(), b.frontend()});
  const int total = 300;
  const int in_flight = 16;
  int sent = 0, ok = 0, failed = 0, done = 0;
  std::string first_failure;
  bool terminated = false;
  std::function<void()> next = [&] {
    ++sent;
    CallOptions o;
    o.deadline = 20s;
    client.send("echo", "echo", "x", o, [&](const Incoming& in) {
      if (in.kind == Kind::kChunk) return;
      ++done;
      if (in.kind == Kind::kReply) {
        ++ok;
      } else if (failed++ == 0) {
        first_failure = in.message;
      }
      if (done == total / 3 && !terminated) {
        terminated = true;
        a.router().signal(SIGTERM);  // drains: finishes its own, hands new ones back
      }
      if (sent < total) next();
    });
  };
  for (int i = 0; i < in_flight; ++i) next();
  runUntil(loop, [&] { return done == total; });
  EXPECT_EQ(failed, 0) << first_failure << "\nrouter a (" << a.frontend() << "):\n"
                       << a.router().log() << "\nrouter b:\n"
                       << b.router().log() << "\necho:\n"
                       << echo.log();
  EXPECT_EQ(ok, total);
  // The drained router finished what it had and left on its own, with exit code 0.
  EXPECT_EQ(a.router().awaitExit(25s), 0) << a.router().log();
  EXPECT_NE(a.router().log().find("drained"), std::string::npos) << a.router().log();
  // The other router carried the rest.
  EXPECT_GT(b.status()["counters"]["requests"].get<int>(), total / 3);
}

// A client that does not heartbeat (an older or simpler client) is not told to go elsewhere:
// its new requests end UNAVAILABLE while the router drains, and the request it had finishes.
TEST(MultiRouter, ADrainingRouterRefusesNewRequestsOfClientsThatDoNotHeartbeat) {
  Bus a({"--drain-timeout-ms", "20000"});
  Process echo = echoOn({&a}, "slow", {"--delay-ms", "1500"});
  auto plain = a.client();
  CallOptions o;
  o.deadline = 20s;
  uint64_t slow = plain->send("echo", "echo", "x", o);
  ASSERT_TRUE(waitUntil([&] { return a.status()["services"][0]["inflight"] == 1; }, 10s));
  a.router().signal(SIGTERM);
  // The router answers its own operations while draining (sbctl status, sb-health).
  ASSERT_TRUE(waitUntil([&] { return a.status()["draining"] == true; }, 10s));
  auto refused = a.client()->call("echo", "echo", "y", o);
  EXPECT_EQ(refused.status.code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.status.message.find("draining"), std::string::npos) << refused.status.message;
  std::optional<Incoming> in;
  while ((in = plain->next(20s)) && in->id != slow) {
  }
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->kind, Kind::kReply);
  EXPECT_EQ(a.router().awaitExit(10s), 0);
}

// A stream in flight when its router is killed ends UNAVAILABLE once the router has been silent
// for heartbeat x liveness, long before its deadline; a request made while no router is up
// waits for one, and is served when the router is back.
TEST(MultiRouter, ARouterThatDiesIsNoticedAndOneThatComesBackIsUsed) {
  Bus a;
  Process echo = echoOn({&a}, "streamer", {"--chunks", "1000", "--delay-ms", "50"});
  EventLoop loop;
  AsyncClientOptions co;
  co.heartbeat = 200ms;
  AsyncClient client(a.context(), loop, {a.frontend()}, co);
  CallOptions o;
  o.deadline = 600s;  // the edge's own request timeout
  int chunks = 0;
  std::optional<Incoming> end;
  client.send("echo", "echo", "x", o, [&](const Incoming& in) {
    if (in.kind == Kind::kChunk) {
      if (++chunks == 3) a.router().signal(SIGKILL);
      return;
    }
    end = in;
  });
  runUntil(loop, [&] { return end.has_value(); });
  EXPECT_EQ(end->code, ErrorCode::kUnavailable);
  EXPECT_NE(end->message.find("went silent"), std::string::npos) << end->message;
  EXPECT_EQ(client.routers().state(0), RouterPool::State::kSilent);
  EXPECT_EQ(client.inflight(), 0u);
}

}  // namespace
}  // namespace sb::test
