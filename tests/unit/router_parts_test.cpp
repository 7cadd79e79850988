// The router's plain parts alone: the worker registry's admission and liveness rules, the
// request table's deadlines and the service queue's order.
#include <gtest/gtest.h>

#include "request_table.h"
#include "service_queue.h"
#include "worker_registry.h"

namespace sb::router {
namespace {

using namespace std::chrono_literals;

proto::Announcement ann(const std::string& name, const std::string& svc = "s",
                        uint64_t instance = 0) {
  proto::Announcement a;
  a.name = name;
  a.service = svc;
  a.instance = instance;
  a.heartbeat_ms = 1000;
  a.liveness = 3;
  return a;
}

TEST(WorkerRegistry, AdmitsNewNamesAndRefusesATakenOne) {
  WorkerRegistry reg;
  TimePoint t{};
  EXPECT_EQ(reg.admit("c1", ann("a")).kind, WorkerRegistry::Admission::kNew);
  reg.upsert("c1", ann("a", "s", 5), t);
  auto again = reg.admit("c1", ann("a"));
  EXPECT_EQ(again.kind, WorkerRegistry::Admission::kUpdate);
  auto moved = reg.admit("c1", ann("a", "other"));
  EXPECT_EQ(moved.kind, WorkerRegistry::Admission::kMove);
  auto clash = reg.admit("c2", ann("a", "s", 6));
  EXPECT_EQ(clash.kind, WorkerRegistry::Admission::kRefuse);
  auto no_instance = reg.admit("c2", ann("a", "s", 0));
  EXPECT_EQ(no_instance.kind, WorkerRegistry::Admission::kRefuse);
  auto same_process = reg.admit("c2", ann("a", "s", 5));
  EXPECT_EQ(same_process.kind, WorkerRegistry::Admission::kReplace);
  EXPECT_EQ(same_process.previous, reg.byIdentity("c1")->id);
  EXPECT_EQ(reg.admit("c3", ann("r", "router")).kind, WorkerRegistry::Admission::kRefuse);
  auto fast = ann("f");
  fast.heartbeat_ms = 99;
  EXPECT_EQ(reg.admit("c4", fast).kind, WorkerRegistry::Admission::kRefuse);
}

TEST(WorkerRegistry, ARemovedWorkerIsGoneByEveryKeyAndHandedBack) {
  WorkerRegistry reg;
  TimePoint t{};
  MemberId id = reg.upsert("c1", ann("a"), t).id;
  auto removed = reg.remove(id);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->name, "a");
  EXPECT_EQ(removed->identity, "c1");
  EXPECT_EQ(reg.byId(id), nullptr);
  EXPECT_EQ(reg.byIdentity("c1"), nullptr);
  EXPECT_EQ(reg.byName("a"), nullptr);
  EXPECT_FALSE(reg.remove(id).has_value());
  EXPECT_EQ(reg.admit("c1", ann("a")).kind, WorkerRegistry::Admission::kNew);
}

TEST(WorkerRegistry, DeadMeansSilentLongerThanHeartbeatTimesLivenessPlusATick) {
  WorkerRegistry reg;
  TimePoint t{};
  auto& w = reg.upsert("c1", ann("a"), t);
  EXPECT_TRUE(reg.dead(t + 3100ms).empty());
  EXPECT_EQ(reg.dead(t + 3101ms), std::vector<MemberId>{w.id});
  reg.seen(w, t + 3000ms);
  EXPECT_TRUE(reg.dead(t + 3101ms).empty());
}

TEST(WorkerRegistry, HeartbeatsAreDueEveryIntervalWithoutDrift) {
  WorkerRegistry reg;
  TimePoint t{};
  reg.upsert("c1", ann("a"), t);
  int sent = 0;
  for (auto now = t; now <= t + 5050ms; now += 100ms) sent += reg.heartbeatsDue(now).size();
  EXPECT_EQ(sent, 5);  // at 1, 2, 3, 4 and 5 s
}

TEST(RequestTable, TracksTheEarliestDeadline) {
  RequestTable table;
  TimePoint t{};
  auto& a = table.insert(RequestTable::key("c", 1));
  a.deadline = t + 5s;
  EXPECT_TRUE(table.noteDeadline(a.deadline));
  auto& b = table.insert(RequestTable::key("c", 2));
  b.deadline = t + 2s;
  EXPECT_TRUE(table.noteDeadline(b.deadline));
  EXPECT_FALSE(table.noteDeadline(t + 3s));
  EXPECT_EQ(table.earliestDeadline(), t + 2s);
  auto expired = table.expired(t + 2s);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], RequestTable::key("c", 2));
  EXPECT_EQ(table.earliestDeadline(), t + 5s);  // recomputed from what is left
  EXPECT_NE(a.seq, b.seq);
}

TEST(ServiceQueue, OffersInOrderSkipsWhatCannotGoAndDropsStaleEntries) {
  ServiceQueue q;
  std::map<std::string, uint64_t> live{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  for (const auto& [k, seq] : live) q.push(k, seq);
  live.erase("b");  // ended while queued (deadline, cancel)
  q.forget();
  EXPECT_EQ(q.size(), 3u);
  std::vector<std::string> offered;
  auto is_live = [&](const std::string& k, uint64_t seq) {
    auto it = live.find(k);
    return it != live.end() && it->second == seq;
  };
  q.pump(is_live, [&](const std::string& k) {
    offered.push_back(k);
    return k == "a" ? ServiceQueue::Offer::kSkip : ServiceQueue::Offer::kTaken;
  });
  EXPECT_EQ(offered, (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(q.size(), 1u);  // "a" waits
  offered.clear();
  q.pushFront("e", 5);
  live["e"] = 5;
  q.pump(is_live, [&](const std::string& k) {
    offered.push_back(k);
    return ServiceQueue::Offer::kStop;
  });
  EXPECT_EQ(offered, std::vector<std::string>{"e"});
  EXPECT_EQ(q.size(), 2u);
}

}  // namespace
}  // namespace sb::router
