// The slot client against a scripted RESP server, for what a real cluster will not do on
// demand: redirect forever. The cap (16 redirections, then UNAVAILABLE) must end the request
// at once, not at its deadline, for single commands and transactions alike.
#include <gtest/gtest.h>

#include <atomic>

#include "fake_redis.h"
#include "sb/redis/slot_client.h"

namespace sb::redis {
namespace {

using namespace std::chrono_literals;
using test::FakeRedis;

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// CLUSTER SLOTS naming the fake node as the master of every slot.
std::string allSlotsTo(int port) {
  return "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n" + bulk("127.0.0.1") + ":" + std::to_string(port) +
         "\r\n" + bulk("fake");
}

// Claims every slot, then answers each keyed command with `redirect` (MOVED or ASK) to itself.
FakeRedis::Handler redirectingNode(const std::string& redirect, const int* port) {
  return [redirect, port](const std::vector<std::string>& argv) -> std::string {
    const std::string& cmd = argv[0];
    if (cmd == "CLUSTER") {
      return allSlotsTo(*port);
    }
    if (cmd == "PING") return "+PONG\r\n";
    if (cmd == "ASKING" || cmd == "MULTI") return "+OK\r\n";
    if (cmd == "EXEC") return "-EXECABORT Transaction discarded because of previous errors.\r\n";
    return "-" + redirect + " 866 127.0.0.1:" + std::to_string(*port) + "\r\n";
  };
}

struct Outcome {
  Result result;
  SlotClientCounters counters;
};

// Runs one command (or a transaction of it) through a cluster-mode slot client seeded with
// the fake node, and returns how it ended.
Outcome runOnce(FakeRedis& node, bool transaction) {
  EventLoop loop;
  SlotClientOptions o;
  o.topology = Topology::kCluster;
  o.nodes = {Node{"127.0.0.1", node.port()}};
  SlotClient client(loop, o);
  client.start();
  Outcome out;
  bool done = false;
  CommandOptions c;
  c.deadline = loop.now() + 10s;
  c.retry_unknown = true;
  auto finish = [&](Result&& r) {
    out.result = std::move(r);
    done = true;
    loop.stop();
  };
  if (transaction)
    client.transaction("k", {{"GET", "k"}, {"TTL", "k"}}, c, finish);
  else
    client.command("k", {"GET", "k"}, c, finish);
  auto give_up = loop.after(15s, [&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(done) << "the request never ended";
  out.counters = client.counters();
  return out;
}

// The request ended with the cap's error (not at its deadline, whose message differs).
void expectCapped(const Outcome& o) {
  EXPECT_EQ(o.result.status.code, proto::ErrorCode::kUnavailable);
  EXPECT_NE(o.result.status.message.find("more than 16 redirections"), std::string::npos)
      << o.result.status.message;
}

TEST(SlotClientRedirects, EndlessMovedEndsAfterSixteenRedirections) {
  int port = 0;
  FakeRedis node(redirectingNode("MOVED", &port));
  port = node.port();
  Outcome o = runOnce(node, false);
  expectCapped(o);
  EXPECT_EQ(o.counters.moved, 16u);
  EXPECT_EQ(node.count("GET"), 17u);  // the first try and sixteen redirected ones
}

TEST(SlotClientRedirects, EndlessAskEndsAfterSixteenRedirectionsEachAfterAsking) {
  int port = 0;
  FakeRedis node(redirectingNode("ASK", &port));
  port = node.port();
  Outcome o = runOnce(node, false);
  expectCapped(o);
  EXPECT_EQ(o.counters.ask, 16u);
  EXPECT_EQ(node.count("GET"), 17u);
  EXPECT_EQ(node.count("ASKING"), 16u);
}

// A transaction learns of a redirection from the queued command's reply (EXEC then only says
// EXECABORT): the redirection must be followed, and capped, the same way.
TEST(SlotClientRedirects, TransactionsFollowRedirectionsFromQueuedCommands) {
  int port = 0;
  FakeRedis node(redirectingNode("MOVED", &port));
  port = node.port();
  Outcome o = runOnce(node, true);
  expectCapped(o);
  EXPECT_EQ(o.counters.moved, 16u);
  EXPECT_EQ(node.count("MULTI"), 17u);
  EXPECT_EQ(node.count("EXEC"), 17u);
}

// TRYAGAIN (a multi-key command during a migration) and CLUSTERDOWN back off and retry; a
// READONLY reply (a write reached a demoted master) refreshes the map and retries. All three
// end in success once the node answers.
TEST(SlotClientRetries, TryagainClusterdownAndReadonlyAreRetriedUntilTheyClear) {
  int port = 0;
  auto gets = std::make_shared<int>(0);
  FakeRedis node([&port, gets](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "CLUSTER") return allSlotsTo(port);
    if (argv[0] == "PING") return "+PONG\r\n";
    switch ((*gets)++) {
      case 0:
      case 1:
        return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
      case 2:
        return "-CLUSTERDOWN The cluster is down\r\n";
      case 3:
        return "-READONLY You can't write against a read only replica.\r\n";
      default:
        return bulk("ok");
    }
  });
  port = node.port();
  Outcome o = runOnce(node, false);
  ASSERT_TRUE(o.result.status.ok()) << o.result.status.message;
  EXPECT_EQ(o.result.reply.str, "ok");
  EXPECT_EQ(o.counters.tryagain, 2u);
  EXPECT_EQ(o.counters.clusterdown, 1u);
  EXPECT_EQ(o.counters.readonly, 1u);
  EXPECT_EQ(node.count("GET"), 5u);
  EXPECT_GE(node.count("CLUSTER"), 2u);  // the start, and a refresh after CLUSTERDOWN/READONLY
}

// While a slot changes owner the nodes can point at each other for a moment: the source (A)
// already says MOVED to the target (B) and lists B as owner, while B, not yet told, still
// says MOVED back to A and lists A. Following at once, sixteen hops go by in milliseconds;
// with backoff after the first few, a 100 ms disagreement passes and the command succeeds.
TEST(SlotClientRedirects, ABriefMovedPingPongBetweenTwoNodesIsRiddenOut) {
  int port_a = 0, port_b = 0;
  std::atomic<int64_t> first_ns{0};
  auto b_caught_up = [&] {
    int64_t f = first_ns.load();
    return f != 0 && SteadyClock::now().time_since_epoch().count() - f > 100'000'000;
  };
  FakeRedis b([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "CLUSTER") return allSlotsTo(b_caught_up() ? port_b : port_a);
    if (argv[0] == "PING") return "+PONG\r\n";
    int64_t zero = 0;
    first_ns.compare_exchange_strong(zero, SteadyClock::now().time_since_epoch().count());
    if (!b_caught_up()) return "-MOVED 866 127.0.0.1:" + std::to_string(port_a) + "\r\n";
    return bulk("ok");
  });
  port_b = b.port();
  FakeRedis a([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "CLUSTER") return allSlotsTo(port_b);
    if (argv[0] == "PING") return "+PONG\r\n";
    return "-MOVED 866 127.0.0.1:" + std::to_string(port_b) + "\r\n";
  });
  port_a = a.port();
  Outcome o = runOnce(a, false);
  ASSERT_TRUE(o.result.status.ok()) << o.result.status.message;
  EXPECT_EQ(o.result.reply.str, "ok");
  EXPECT_GT(o.counters.moved, 4u);  // the disagreement outlasted the immediate follows
}

}  // namespace
}  // namespace sb::redis

namespace sb::redis {
namespace {

// A slot client destroyed with commands still waiting drops their callbacks without calling
// them: its owner is going away, and what the callbacks touch may be gone already (the session
// service's store and handlers, at shutdown). Before, the destructor ran them, with
// UNAVAILABLE, into whatever had been destroyed first.
TEST(SlotClientLifetime, DestroyedWithCommandsWaitingItCallsNoneOfThem) {
  FakeRedis silent([](const std::vector<std::string>& argv) -> std::string {
    return argv[0] == "PING" ? "+PONG\r\n" : "";  // never answers a command
  });
  EventLoop loop;
  SlotClientOptions o;
  o.nodes = {Node{"127.0.0.1", silent.port()}};
  int called = 0;
  {
    SlotClient client(loop, o);
    client.start();
    CommandOptions c;
    c.deadline = loop.now() + 10s;
    for (int i = 0; i < 3; ++i) client.command("k", {"GET", "k"}, c, [&](Result&&) { ++called; });
    // The commands reach the node (and wait there) before the client goes.
    auto until = SteadyClock::now() + 5s;
    while (silent.count("GET") < 3 && SteadyClock::now() < until) loop.runOnce(20ms);
    ASSERT_EQ(silent.count("GET"), 3u);
  }
  for (int i = 0; i < 3; ++i) loop.runOnce(0ms);  // nothing left to run: no timer, no reply
  EXPECT_EQ(called, 0);
}

}  // namespace
}  // namespace sb::redis
