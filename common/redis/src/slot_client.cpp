#include "sb/redis/slot_client.h"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "sb/redis/redis_url.h"

namespace sb::redis {

using proto::ErrorCode;
using proto::Status;

struct SlotClient::Op {
  uint16_t slot = 0;
  std::vector<std::string> argv;
  std::vector<std::vector<std::string>> transaction;  // instead of argv: MULTI ... EXEC
  CommandOptions opts;
  Callback cb;
  int redirects = 0;
  int attempts = 0;
  uint32_t generation = 0;  // which attempt a reply belongs to
  bool has_ask = false;     // the next try goes to `ask`, after ASKING
  bool has_moved = false;   // the next try goes to `ask` (a MOVED target), whatever the map says
  Node ask;
  bool done = false;
  bool waiting = false;  // the command succeeded; WAIT's reply completes the op
  Reply held;
  std::string last_error;
  LoopHandle deadline_timer;
  LoopHandle retry_timer;  // a backoff before the next attempt
};

namespace {

// Redirections followed at once; later ones of the same command wait 10, 20, ... 200 ms.
constexpr int kImmediateRedirects = 4;

const char* failureText(Failure f) {
  switch (f) {
    case Failure::kConnect:
      return "could not connect";
    case Failure::kTimeout:
      return "no reply in time";
    case Failure::kClosed:
      return "connection lost";
    default:
      return "error";
  }
}

// "MOVED 3999 127.0.0.1:6381" -> slot and node. Redis 7 may leave the host out (":6381")
// when it does not know its own address: the node that answered is then meant.
bool parseRedirect(const std::string& text, const Node& answered, uint16_t& slot, Node& node) {
  auto sp1 = text.find(' ');
  auto sp2 = text.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  std::string_view digits(text.data() + sp1 + 1, sp2 - sp1 - 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value >= kSlotCount)
    return false;
  slot = static_cast<uint16_t>(value);
  std::string addr = text.substr(sp2 + 1);
  if (!addr.empty() && addr[0] == ':') addr = answered.host + addr;
  return parseHostPort(addr, node).ok();
}

}  // namespace

SlotClient::SlotClient(EventLoop& loop, SlotClientOptions options)
    : loop_(loop), options_(std::move(options)) {}

SlotClient::~SlotClient() {
  // Dropped, not called: the owner is going away, and so may whatever the callbacks touch.
  for (const auto& op : ops_) {
    op->cb = nullptr;
    op->done = true;
    op->deadline_timer.cancel();
    op->retry_timer.cancel();
  }
  ops_.clear();
  conns_.clear();  // closing connections drop their pending callbacks too
}

void SlotClient::start() {
  switch (options_.topology) {
    case Topology::kSingle:
      map_ = SlotMap::single(options_.nodes.at(0));
      break;
    case Topology::kShards:
      map_ = SlotMap::split(options_.nodes);
      break;
    case Topology::kCluster:
      refreshing_ = true;
      refresh(0);
      timers_.push_back(loop_.every(options_.refresh_interval, [this] { requestRefresh(); }));
      break;
  }
  timers_.push_back(loop_.every(Millis(100), [this] { maintain(); }));
  timers_.push_back(loop_.every(options_.health_interval, [this] { pingMasters(); }));
  pingMasters();
}

bool SlotClient::ready() const { return notReadyReason().empty(); }

std::string SlotClient::notReadyReason() const {
  if (map_.empty() || !map_.complete()) {
    std::string seeds;
    for (const auto& n : options_.nodes) seeds += (seeds.empty() ? "" : ", ") + n.address();
    return "no complete slot map yet (from " + seeds + ")";
  }
  for (const auto& shard : map_.shards()) {
    auto it = master_up_.find(shard.master.address());
    if (it == master_up_.end() || !it->second)
      return "master " + shard.master.address() + " does not answer PING";
  }
  return {};
}

void SlotClient::command(std::string_view key, std::vector<std::string> argv,
                         CommandOptions options, Callback cb) {
  auto op = std::make_shared<Op>();
  op->argv = std::move(argv);
  op->opts = options;
  op->cb = std::move(cb);
  launch(key, op);
}

void SlotClient::transaction(std::string_view key, std::vector<std::vector<std::string>> commands,
                             CommandOptions options, Callback cb) {
  auto op = std::make_shared<Op>();
  op->transaction = std::move(commands);
  op->opts = options;
  op->cb = std::move(cb);
  launch(key, op);
}

void SlotClient::launch(std::string_view key, const OpPtr& op) {
  op->slot = keySlot(key);
  if (op->opts.deadline == TimePoint{}) op->opts.deadline = loop_.now() + Millis(5000);
  ops_.insert(op);
  // A command stuck on a slow connection must still end at its deadline (the connection's
  // own timeout may be later); a reply arriving after that is ignored. The op's timers are
  // cancelled when it finishes or the client goes, so `this` and `op` are alive when they run.
  op->deadline_timer = loop_.after(op->opts.deadline - loop_.now(), [this, op] {
    if (!op->done) unavailable(op, deadlineMessage(*op));
  });
  execute(op);
}

std::string SlotClient::deadlineMessage(const Op& op) {
  return "redis did not answer before the deadline" +
         (op.last_error.empty() ? "" : ": " + op.last_error);
}

void SlotClient::unavailable(const OpPtr& op, std::string message) {
  ++counters_.unavailable;
  finish(op, {Status::error(ErrorCode::kUnavailable, std::move(message)), {}});
}

void SlotClient::execute(const OpPtr& op) {
  if (op->done) return;
  if (loop_.now() >= op->opts.deadline) {
    unavailable(op, deadlineMessage(*op));
    return;
  }
  Node target;
  bool replica = false;
  if (op->has_ask || op->has_moved) {
    target = op->ask;
  } else {
    const Shard* shard = map_.shardFor(op->slot);
    if (!shard) {
      requestRefresh();
      retryLater(op, "no node serves slot " + std::to_string(op->slot));
      return;
    }
    target = shard->master;
    if (op->opts.read_only && options_.replica_reads && !shard->replicas.empty()) {
      target = shard->replicas[replica_cursor_++ % shard->replicas.size()];
      replica = true;
    }
  }
  // A write that must wait for replicas goes on the node's durable connection: WAIT blocks
  // the connection it runs on, and must never hold up reads or other writes.
  Lane lane = replica ? Lane::kReplica : op->opts.wait_replicas > 0 ? Lane::kDurable : Lane::kMain;
  Connection* c = connectionFor(target, lane);
  if (!c) {
    retryLater(op, "cannot connect to " + target.address());
    return;
  }
  uint32_t gen = ++op->generation;
  if (op->has_ask) c->send({"ASKING"}, [](Reply*, Failure) {});
  ++counters_.commands;
  auto on_reply = [this, op, gen, target](Reply* r, Failure f) {
    if (gen == op->generation) onReply(op, target, r, f);
  };
  bool sent = op->transaction.empty() ? c->send(op->argv, std::move(on_reply))
                                      : c->sendTransaction(op->transaction, std::move(on_reply));
  if (!sent) {
    retryLater(op, "cannot send to " + target.address());
    return;
  }
  if (op->opts.wait_replicas > 0) awaitReplicas(connectionKey(target, lane), op, gen);
}

// Group commit: every durable write sent to a node in one loop round is covered by a single
// WAIT sent after them at the end of the round (WAIT waits for everything its connection
// wrote before it). One WAIT per round and node instead of one per write.
void SlotClient::awaitReplicas(const std::string& conn_key, const OpPtr& op, uint32_t gen) {
  WaitGroup& g = wait_groups_[conn_key];
  g.ops.emplace_back(op, gen);
  g.replicas = std::max(g.replicas, op->opts.wait_replicas);
  g.timeout = std::max(g.timeout, op->opts.wait_timeout);
  if (!g.flush) g.flush = loop_.beforePoll([this, conn_key] { sendWait(conn_key); });
}

void SlotClient::sendWait(const std::string& conn_key) {
  auto it = wait_groups_.find(conn_key);
  if (it == wait_groups_.end()) return;
  auto ops = std::move(it->second.ops);
  int replicas = it->second.replicas;
  Millis timeout = it->second.timeout;
  wait_groups_.erase(it);
  // Ends the ops of the group whose write succeeded (the others are retrying or failed).
  auto settle = [this](const std::vector<std::pair<OpPtr, uint32_t>>& ops, Reply* r) {
    for (const auto& [op, gen] : ops) {
      if (op->done || op->generation != gen || !op->waiting) continue;
      op->waiting = false;
      if (!r || r->type != Reply::Type::kInteger) {
        finish(op, {Status::error(ErrorCode::kUnavailable,
                                  "no answer to WAIT: the write's durability is unknown"),
                    std::move(op->held)});
      } else {
        finish(op, {{}, std::move(op->held), r->integer});
      }
    }
  };
  auto cit = conns_.find(conn_key);
  Connection* c = cit == conns_.end() ? nullptr : cit->second.get();
  // WAIT blocks for up to its timeout by design: not a sign of a dead node.
  if (!c || !c->send(
                {"WAIT", std::to_string(replicas), std::to_string(timeout.count())},
                [settle, ops](Reply* r, Failure) { settle(ops, r); }, timeout)) {
    settle(ops, nullptr);
  }
}

void SlotClient::onReply(const OpPtr& op, const Node& answered, Reply* r, Failure failure) {
  if (op->done) return;
  if (!r) {
    op->has_moved = false;  // the refreshed map decides where the retry goes
    ++counters_.connection_errors;
    std::string why = std::string(failureText(failure));
    requestRefresh();
    if (failure != Failure::kConnect && !op->opts.retry_unknown) {
      // The command may have run; resending could apply it twice.
      unavailable(op, "redis " + why + " with the command in flight; its outcome is unknown");
      return;
    }
    if (options_.topology != Topology::kCluster && op->attempts >= 2) {
      // No failover will bring this node back soon: say so now rather than at the deadline.
      unavailable(op, "redis " + why);
      return;
    }
    retryLater(op, why);
    return;
  }
  std::string_view code = r->errorCode();
  if (code == "MOVED" || code == "ASK") {
    uint16_t slot = 0;
    if (!parseRedirect(r->str, answered, slot, op->ask)) {
      finish(op, {Status::error(ErrorCode::kInternal, "unreadable redirection: " + r->str), {}});
      return;
    }
    if (++op->redirects > options_.max_redirects) {
      unavailable(op, "more than " + std::to_string(options_.max_redirects) +
                          " redirections for slot " + std::to_string(op->slot));
      return;
    }
    if (code == "MOVED") {
      ++counters_.moved;
      map_.moveSlot(op->slot, op->ask);
      op->has_ask = false;
      // The retry follows the redirection itself: a refresh answered meanwhile by a node that
      // has not caught up must not send it back where it came from.
      op->has_moved = true;
      requestRefresh();
    } else {
      ++counters_.ask;
      op->has_ask = true;  // ASKING + the command to op->ask, this once; the map stays
      op->has_moved = false;
    }
    // While a slot changes hands the nodes may disagree for a moment (the source already says
    // MOVED, the target does not know yet and points back): after a few immediate follows,
    // back off a little each time, so such a window passes within the redirection budget.
    if (op->redirects <= kImmediateRedirects) {
      execute(op);
      return;
    }
    Millis delay(std::min<int64_t>(5LL << (op->redirects - kImmediateRedirects), 200));
    op->retry_timer = loop_.after(delay, [this, op] { execute(op); });
    return;
  }
  op->has_ask = false;
  op->has_moved = false;
  if (code == "TRYAGAIN") {
    ++counters_.tryagain;
    retryLater(op, r->str);
    return;
  }
  if (code == "CLUSTERDOWN" || code == "LOADING" || code == "MASTERDOWN") {
    ++counters_.clusterdown;
    requestRefresh();
    retryLater(op, r->str);
    return;
  }
  if (code == "READONLY") {
    // A write reached a demoted master: the map is stale.
    ++counters_.readonly;
    requestRefresh();
    retryLater(op, r->str);
    return;
  }
  if (code == "NOSCRIPT" && op->opts.script && op->argv.size() > 1 &&
      (op->argv[0] == "EVALSHA" || op->argv[0] == "EVALSHA_RO")) {
    ++counters_.noscript;
    op->argv[0] = op->argv[0] == "EVALSHA" ? "EVAL" : "EVAL_RO";  // EVAL also caches it
    op->argv[1] = *op->opts.script;
    execute(op);
    return;
  }
  if (op->opts.wait_replicas > 0 && !r->isError()) {
    op->held = std::move(*r);
    op->waiting = true;  // the WAIT sent after it on this connection completes it
    return;
  }
  finish(op, {{}, std::move(*r)});
}

void SlotClient::finish(const OpPtr& op, Result&& result) {
  if (op->done) return;
  op->done = true;
  op->deadline_timer.cancel();
  op->retry_timer.cancel();
  ops_.erase(op);
  auto cb = std::move(op->cb);
  if (cb) cb(std::move(result));
}

void SlotClient::retryLater(const OpPtr& op, const std::string& why) {
  op->last_error = why;
  ++op->attempts;
  // In a cluster a failover ends the moment the promoted replica is known, and a refresh asks
  // for the map on every failed try: retry often (every 100 ms at most) to be there when it
  // does. A standalone node that is down comes back on its own time: back off further.
  int64_t cap = options_.topology == Topology::kCluster ? 100 : 500;
  Millis delay(std::min<int64_t>(25LL << std::min(op->attempts, 5), cap));
  if (loop_.now() + delay >= op->opts.deadline) {
    unavailable(op, "redis unavailable: " + why);
    return;
  }
  op->retry_timer = loop_.after(delay, [this, op] { execute(op); });
}

std::string SlotClient::connectionKey(const Node& node, Lane lane) {
  switch (lane) {
    case Lane::kReplica:
      return node.address() + "/ro";
    case Lane::kDurable:
      return node.address() + "/durable";
    default:
      return node.address();
  }
}

Connection* SlotClient::connectionFor(const Node& node, Lane lane) {
  auto& c = conns_[connectionKey(node, lane)];
  // A failed connection may still be on the call stack (we may be inside its callback): it
  // goes when the loop turns.
  if (c && !c->usable()) loop_.deleteLater(std::move(c));
  if (!c) {
    ConnectionOptions o = options_.connection;
    o.readonly = lane == Lane::kReplica;
    c = std::make_unique<Connection>(loop_, node, o);
    if (!c->usable()) {
      loop_.deleteLater(std::move(c));
      return nullptr;
    }
  }
  return c.get();
}

void SlotClient::requestRefresh() {
  if (options_.topology != Topology::kCluster) return;
  if (refreshing_ || loop_.now() - last_refresh_ < options_.min_refresh_gap) {
    refresh_wanted_ = true;  // maintain() starts it when the gap has passed
    return;
  }
  refreshing_ = true;
  refresh(0);
}

// Asks the known nodes in turn (masters, replicas, then the seeds) for CLUSTER SLOTS.
void SlotClient::refresh(size_t candidate) {
  std::vector<Node> nodes;
  auto add = [&](const Node& n) {
    if (std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(n);
  };
  for (const auto& s : map_.shards()) add(s.master);
  for (const auto& s : map_.shards()) {
    for (const auto& r : s.replicas) add(r);
  }
  for (const auto& n : options_.nodes) add(n);
  if (candidate >= nodes.size()) {
    refreshing_ = false;
    last_refresh_ = loop_.now();
    spdlog::warn("redis cluster: no node answered CLUSTER SLOTS");
    return;
  }
  Node node = nodes[candidate];
  Connection* c = connectionFor(node, Lane::kMain);
  auto next = [this, candidate] {
    // Not from inside the failing callback's stack: before the loop next waits.
    refresh_next_ = loop_.beforePoll([this, candidate] { refresh(candidate + 1); });
  };
  // Callbacks on our own connections may capture `this`: the connections go with us, and a
  // closing connection drops its callbacks.
  if (!c || !c->send({"CLUSTER", "SLOTS"}, [this, node, next](Reply* r, Failure) {
        SlotMap m;
        if (!r || r->isError() || !SlotMap::fromClusterSlots(*r, node.host, m).ok() || m.empty()) {
          next();
          return;
        }
        bool was_empty = map_.empty();
        map_ = std::move(m);
        refreshing_ = false;
        last_refresh_ = loop_.now();
        ++counters_.refreshes;
        if (was_empty) {
          spdlog::info("redis cluster: slot map from {}: {} masters", node.address(),
                       map_.shards().size());
          pingMasters();
        }
      })) {
    next();
  }
}

void SlotClient::maintain() {
  TimePoint now = loop_.now();
  std::vector<Connection*> all;
  for (auto& [key, c] : conns_) {
    if (c) all.push_back(c.get());
  }
  // Connections failed here stay alive until the loop turns (deleteLater), so `all` holds.
  for (Connection* c : all) c->checkTimeouts(now);
  if (refresh_wanted_ && !refreshing_ && now - last_refresh_ >= options_.min_refresh_gap) {
    refresh_wanted_ = false;
    refreshing_ = true;
    refresh(0);
  }
}

void SlotClient::pingMasters() {
  for (const auto& shard : map_.shards()) {
    Node node = shard.master;
    Connection* c = connectionFor(node, Lane::kMain);
    auto mark = [this, node](bool up) {
      auto [it, inserted] = master_up_.try_emplace(node.address(), up);
      if (!inserted && it->second != up) {
        if (up)
          spdlog::info("redis {} is up", node.address());
        else
          spdlog::warn("redis {} is down", node.address());
      } else if (inserted && !up) {
        spdlog::warn("redis {} is down", node.address());
      }
      it->second = up;
    };
    if (!c || !c->send({"PING"}, [mark](Reply* r, Failure) { mark(r && !r->isError()); })) {
      mark(false);
    }
  }
}

}  // namespace sb::redis
