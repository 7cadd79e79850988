// The session service over static shards and a real Redis Cluster (3 masters + 3 replicas):
// placement, live slot migration (ASK) and the failover of a killed master.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include "load.h"
#include "sb/policy/keyslot.h"
#include "session_bus.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// redis-cli, the real one, as an operator would use it.
std::string redisCli(int port, std::vector<std::string> args) {
  std::vector<std::string> all{"-p", std::to_string(port)};
  all.insert(all.end(), args.begin(), args.end());
  Process p = Process::startSystem("redis-cli", all);
  p.awaitExit(10s);
  std::string out = p.log();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(SessionShards, EveryKeyLivesOnTheShardItsSlotMapsTo) {
  std::vector<std::unique_ptr<RedisServer>> shards;
  std::vector<std::string> args;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(std::make_unique<RedisServer>());
    args.push_back("--shard");
    args.push_back(shards.back()->url());
  }
  SessionBus sb(args);
  std::set<int> used;
  for (int i = 0; i < 24; ++i) {
    std::string id = "shard-" + std::to_string(i);
    ASSERT_TRUE(sb.call("create", {{"id", id}}).status.ok());
    ASSERT_TRUE(sb.call("append", {{"id", id}, {"messages", {{{"role", "user"}, {"content", id}}}}})
                    .status.ok());
    size_t expected = static_cast<size_t>(keySlot(id)) * 3 / kSlotCount;
    used.insert(static_cast<int>(expected));
    for (size_t s = 0; s < 3; ++s) {
      std::string key = "sb:session:{" + id + "}:msgs";
      EXPECT_EQ(redisCli(shards[s]->port(), {"EXISTS", key}), s == expected ? "1" : "0")
          << id << " (slot " << keySlot(id) << ") on shard " << s;
    }
    EXPECT_EQ(sb.call("get", {{"id", id}}).body["messages"][0]["content"], id);
  }
  EXPECT_EQ(used.size(), 3u);  // the ids spread over every shard
  // sbctl slots prints the same split the service uses.
  Process p = Process::start("sbctl",
                             {"slots", "--shard", shards[0]->url(), "--shard", shards[1]->url(),
                              "--shard", shards[2]->url()},
                             {}, false);
  p.awaitExit(10s);
  EXPECT_NE(p.log().find("0-5460 127.0.0.1:" + std::to_string(shards[0]->port())),
            std::string::npos)
      << p.log();
  EXPECT_NE(p.log().find("10922-16383 127.0.0.1:" + std::to_string(shards[2]->port())),
            std::string::npos)
      << p.log();
}

class SessionCluster : public ::testing::Test {
 protected:
  std::vector<std::string> clusterArgs() {
    std::vector<std::string> args;
    for (const auto& url : cluster_.seedUrls()) {
      args.push_back("--cluster");
      args.push_back(url);
    }
    return args;
  }
  RedisCluster cluster_;
};

TEST_F(SessionCluster, ServesFromTheMasterOwningEachSlot) {
  SessionBus sb(clusterArgs());
  ASSERT_TRUE(
      waitUntil([&] { return sb.call("status", json::object()).body["ready"] == true; }, 10s));
  auto st = sb.call("status", json::object());
  EXPECT_EQ(st.body["topology"], "cluster");
  EXPECT_EQ(st.body["slots"].size(), 3u);
  for (int i = 0; i < 12; ++i) {
    std::string id = "c-" + std::to_string(i);
    ASSERT_TRUE(sb.call("create", {{"id", id}}).status.ok());
    ASSERT_TRUE(sb.call("append", {{"id", id}, {"messages", {{{"role", "user"}, {"content", id}}}}})
                    .status.ok());
    RedisServer* owner = cluster_.masterOf(keySlot(id));
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(owner->command({"EXISTS", "sb:session:{" + id + "}:msgs"}), "1");
    EXPECT_EQ(sb.call("get", {{"id", id}}).body["length"], 1);
  }
}

// --replica-reads: session.get goes to a replica (READONLY + MULTI of reads), writes to the
// master.
TEST_F(SessionCluster, ReplicaReadsAreServedByReplicas) {
  SessionBus sb(clusterArgs(), {"--replica-reads", "--cluster-refresh-ms", "300"});
  const std::string id = "replicated";
  // Replicas are learned from CLUSTER SLOTS, which a node answers from gossip: the periodic
  // refresh brings them in if the first answer predates it.
  ASSERT_TRUE(waitUntil(
      [&] {
        json status = sb.call("status", json::object()).body;  // kept alive for the loop
        for (const auto& r : status["slots"]) {
          if (r[3].empty()) return false;
        }
        return !status["slots"].empty();
      },
      10s))
      << sb.call("status", json::object()).body.dump();
  ASSERT_TRUE(sb.call("create", {{"id", id}}).status.ok());
  ASSERT_TRUE(sb.call("append", {{"id", id}, {"messages", {{{"role", "user"}, {"content", "r"}}}}})
                  .status.ok());
  RedisServer* master = cluster_.masterOf(keySlot(id));
  // Wait until the replica has the write (replication is asynchronous).
  std::vector<RedisServer*> replicas;
  for (auto& n : cluster_.nodes()) {
    if (n->command({"ROLE"}).find(std::to_string(master->port())) != std::string::npos &&
        n.get() != master) {
      replicas.push_back(n.get());
    }
  }
  ASSERT_FALSE(replicas.empty());
  ASSERT_TRUE(waitUntil(
      [&] { return replicas[0]->command({"DBSIZE"}) == master->command({"DBSIZE"}); }, 5s));
  for (int i = 0; i < 10; ++i) {
    auto g = sb.call("get", {{"id", id}});
    ASSERT_TRUE(g.status.ok()) << g.status.message;
    EXPECT_EQ(g.body["length"], 1);
  }
  auto readOnlyCalls = [](RedisServer* n) {
    std::string stats = n->command({"INFO", "commandstats"});
    const char* cmd = "cmdstat_hgetall:calls=";  // the get transaction reads the meta hash
    auto pos = stats.find(cmd);
    return pos == std::string::npos ? 0 : std::stoi(stats.substr(pos + std::strlen(cmd)));
  };
  EXPECT_GE(readOnlyCalls(replicas[0]), 10);
  EXPECT_EQ(readOnlyCalls(master), 0);
}

TEST_F(SessionCluster, ConcurrentAppendsAcrossTheClusterLoseNothing) {
  SessionBus sb(clusterArgs());
  ASSERT_TRUE(sb.call("create", {{"id", "hot"}}).status.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < 8; ++c) {
    threads.emplace_back([&, c] {
      Client client(sb.bus().context(), sb.bus().frontend());
      for (int i = 0; i < 25; ++i) {
        auto r = sb.call(
            client, "append",
            {{"id", "hot"},
             {"messages",
              {{{"role", "user"}, {"content", std::to_string(c) + ":" + std::to_string(i)}}}}});
        if (!r.status.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto g = sb.call("get", {{"id", "hot"}, {"last", 1000}});
  EXPECT_EQ(g.body["length"], 200);
  std::set<std::string> seen;
  for (const auto& m : g.body["messages"]) seen.insert(m["content"].get<std::string>());
  EXPECT_EQ(seen.size(), 200u);
}

// MIGRATING/IMPORTING + MIGRATE of a live session's slot while requests run: every request
// succeeds, through ASK during the migration and MOVED after it.
TEST_F(SessionCluster, LiveSlotMigrationLosesNoRequest) {
  SessionBus sb(clusterArgs());
  const std::string id = "migrating";
  uint16_t slot = keySlot(id);
  ASSERT_TRUE(sb.call("create", {{"id", id}}).status.ok());
  RedisServer* src = cluster_.masterOf(slot);
  RedisServer* dst = nullptr;
  for (auto& n : cluster_.nodes()) {
    RedisServer* cand = n.get();
    if (cand != src && cand->command({"ROLE"}).rfind("master", 0) == 0) dst = cand;
  }
  ASSERT_TRUE(src && dst);
  CallOptions o;
  o.deadline = 10s;
  Load load(sb.bus().context(), sb.bus().frontend(), 4, o, "session", "session.append",
            packJson({{"id", id}, {"messages", {{{"role", "user"}, {"content", "m"}}}}}));
  // Reads too: a get is a MULTI ... EXEC, which must follow ASK (ASKING before MULTI).
  Load reads(sb.bus().context(), sb.bus().frontend(), 2, o, "session", "session.get",
             packJson({{"id", id}, {"last", 5}}));
  ASSERT_TRUE(load.awaitCompleted(50, 10s));

  std::string src_id = cluster_.nodeId(*src), dst_id = cluster_.nodeId(*dst);
  std::string s = std::to_string(slot);
  ASSERT_EQ(dst->command({"CLUSTER", "SETSLOT", s, "IMPORTING", src_id}), "OK");
  ASSERT_EQ(src->command({"CLUSTER", "SETSLOT", s, "MIGRATING", dst_id}), "OK");
  std::string keys = src->command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
  std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(dst->port()), "", "0",
                                   "5000",    "KEYS"};
  std::istringstream in(keys);
  for (std::string k; in >> k;) migrate.push_back(k);
  ASSERT_GE(migrate.size(), 9u) << keys;  // meta, msgs, ops
  ASSERT_EQ(src->command(migrate), "OK");
  // Hold the slot half-migrated until requests have been redirected with ASK.
  ASSERT_TRUE(waitUntil(
      [&] { return sb.call("status", json::object()).body["counters"]["ask"].get<int>() > 0; },
      10s));
  uint64_t during = load.completed(), reads_during = reads.completed();
  ASSERT_TRUE(load.awaitCompleted(during + 20, 10s));
  ASSERT_TRUE(reads.awaitCompleted(reads_during + 20, 10s));
  for (auto& n : cluster_.nodes()) {
    if (n->command({"ROLE"}).rfind("master", 0) == 0)
      n->command({"CLUSTER", "SETSLOT", s, "NODE", dst_id});
  }
  uint64_t after = load.completed();
  ASSERT_TRUE(load.awaitCompleted(after + 50, 10s));
  load.stop();
  reads.stop();
  EXPECT_EQ(load.count("OK"), load.completed()) << testing::PrintToString(load.outcomes());
  EXPECT_EQ(load.hung(), 0u);
  EXPECT_EQ(reads.count("OK"), reads.completed()) << testing::PrintToString(reads.outcomes());
  EXPECT_EQ(reads.hung(), 0u);
  auto st = sb.call("status", json::object()).body;
  EXPECT_GT(st["counters"]["ask"].get<int>(), 0);
  EXPECT_EQ(cluster_.masterOf(slot), dst);
  EXPECT_EQ(dst->command({"LLEN", "sb:session:{" + id + "}:msgs"}),
            std::to_string(load.completed()));
  std::cout << "migration: " << load.completed() << " appends, " << reads.completed()
            << " gets, all OK; ask " << st["counters"]["ask"] << ", moved "
            << st["counters"]["moved"] << "\n";
}

// Appends to one session from its own thread, a few in flight, and records what happened:
// which appends were acknowledged, the errors, and when the first success after `mark` came.
class Appender {
 public:
  Appender(SessionBus& sb, std::string id, std::string tag)
      : sb_(sb), id_(std::move(id)), tag_(std::move(tag)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Appender() { stop(); }
  void mark() {
    mark_ = SteadyClock::now();
    first_ok_after_mark_ = TimePoint{};
  }
  // Waits for a success sent after the last mark(); the time from the mark to it.
  std::optional<Millis> awaitRecovery(Millis timeout) {
    bool ok = waitUntil([&] { return first_ok_after_mark_.load() != TimePoint{}; }, timeout);
    if (!ok) return std::nullopt;
    return std::chrono::duration_cast<Millis>(first_ok_after_mark_.load() - mark_.load());
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::set<std::string> acked;
  std::map<std::string, int> errors;
  int hung = 0;

 private:
  void run() {
    Client client(sb_.bus().context(), sb_.bus().frontend());
    CallOptions o;
    o.deadline = 3s;
    std::map<uint64_t, std::pair<std::string, TimePoint>> pending;
    int next = 0;
    while (!stop_ || !pending.empty()) {
      while (!stop_ && pending.size() < 4) {
        std::string content = tag_ + std::to_string(next++);
        uint64_t rid = client.send(
            "session", "session.append",
            packJson({{"id", id_}, {"messages", {{{"role", "user"}, {"content", content}}}}}), o);
        pending[rid] = {content, SteadyClock::now()};
      }
      auto in = client.next(50ms);
      for (auto it = pending.begin(); it != pending.end();) {
        if (SteadyClock::now() - it->second.second > o.deadline + 2s) {
          ++hung;  // never answered: must not happen
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      if (!in || !proto::isFinal(in->kind)) continue;
      auto it = pending.find(in->id);
      if (it == pending.end()) continue;
      if (in->kind == proto::Kind::kReply) {
        acked.insert(it->second.first);
        if (mark_.load() != TimePoint{} && it->second.second > mark_.load() &&
            first_ok_after_mark_.load() == TimePoint{}) {
          first_ok_after_mark_ = SteadyClock::now();
        }
      } else {
        errors[std::string(proto::errorCodeName(in->code))]++;
      }
      pending.erase(it);
    }
  }

  SessionBus& sb_;
  std::string id_;
  std::string tag_;
  std::atomic<bool> stop_{false};
  std::atomic<TimePoint> mark_{TimePoint{}};
  std::atomic<TimePoint> first_ok_after_mark_{TimePoint{}};
  std::thread thread_;
};

// Every message of a session, paging through it 1000 at a time.
std::set<std::string> storedContents(SessionBus& sb, const std::string& id) {
  std::set<std::string> out;
  for (int64_t start = 0;; start += 1000) {
    auto g = sb.call("get", {{"id", id}, {"start", start}, {"stop", start + 999}});
    if (!g.status.ok()) break;
    for (const auto& m : g.body["messages"]) out.insert(m["content"].get<std::string>());
    if (g.body["messages"].size() < 1000) break;
  }
  return out;
}

// kill -9 of the master owning a live session's slot, under load from two session services:
// a plain one, and one with --min-replicas-ack 1. The plain one resumes once the replica is
// promoted. The durable one cannot (the new master has no replica left to acknowledge) until
// the dead node comes back as a replica. No request hangs, and every acknowledged append of
// the durable service is still there afterwards.
TEST_F(SessionCluster, MasterFailoverResumesAndKeepsEveryAcknowledgedAppend) {
  // History caps far above what the test writes: nothing may leave through the cap.
  std::vector<std::string> uncapped{"--max-messages", "1000000", "--max-history-bytes",
                                    "100000000"};
  SessionBus plain(clusterArgs(), uncapped);
  uncapped.insert(uncapped.end(), {"--min-replicas-ack", "1", "--ack-timeout-ms", "500"});
  SessionBus durable(clusterArgs(), uncapped);
  const std::string id = "failover";  // both services write the same session
  auto created = plain.call("create", {{"id", id}});
  ASSERT_TRUE(created.status.ok()) << created.status.message;
  RedisServer* master = cluster_.masterOf(keySlot(id));
  ASSERT_NE(master, nullptr);

  Appender fast(plain, id, "p"), safe(durable, id, "d");
  ASSERT_TRUE(waitUntil([&] { return fast.acked.size() > 20 && safe.acked.size() > 20; }, 10s));
  fast.mark();
  safe.mark();
  master->kill();
  auto recovered = fast.awaitRecovery(30s);
  ASSERT_TRUE(recovered) << "requests did not resume after the failover";
  // The promoted replica stands alone; the durable service must refuse to acknowledge.
  EXPECT_NE(cluster_.masterOf(keySlot(id)), master);
  // The operator (or Kubernetes) restarts the dead node: it rejoins as a replica.
  master->restart();
  safe.mark();
  auto durable_back = safe.awaitRecovery(30s);
  EXPECT_TRUE(durable_back) << "acknowledged writes did not resume once a replica was back";
  fast.stop();
  safe.stop();
  EXPECT_EQ(fast.hung, 0);
  EXPECT_EQ(safe.hung, 0);
  std::set<std::string> stored = storedContents(plain, id);
  size_t lost = 0;
  for (const auto& a : safe.acked) lost += stored.count(a) ? 0 : 1;
  EXPECT_EQ(lost, 0u) << "of " << safe.acked.size() << " acknowledged appends";
  std::cout << "failover: writes resumed " << recovered->count()
            << " ms after kill -9 of the master; "
            << "errors in the window " << testing::PrintToString(fast.errors) << "\n"
            << "  --min-replicas-ack 1: " << safe.acked.size()
            << " appends acknowledged, all kept; "
            << "resumed " << (durable_back ? durable_back->count() : -1)
            << " ms after the node came back; "
            << "refused meanwhile " << testing::PrintToString(safe.errors) << "\n";
}

}  // namespace
}  // namespace sb::test
