#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sb/core/event_loop.h"
#include "sb/proto/status.h"
#include "sb/redis/connection.h"
#include "sb/redis/slot_map.h"

namespace sb::redis {

enum class Topology : uint8_t { kSingle, kShards, kCluster };

struct SlotClientOptions {
  Topology topology = Topology::kSingle;
  std::vector<Node> nodes;  // the node; the shards in order; or the cluster's seed nodes
  ConnectionOptions connection;
  Millis refresh_interval{10000};  // periodic CLUSTER SLOTS
  Millis min_refresh_gap{100};     // throttle for refreshes triggered by MOVED or errors
  Millis health_interval{1000};    // PING of every master, for readiness
  int max_redirects = 16;
  bool replica_reads = false;  // read-only commands may go to a cluster replica
};

struct CommandOptions {
  TimePoint deadline{};        // retries stop here; the result is then UNAVAILABLE
  bool read_only = false;      // may be served by a replica (with replica_reads)
  bool retry_unknown = false;  // safe to resend after a reply was lost (idempotent command)
  // WAIT for this many replicas after the command, on the node's durable connection (never
  // the one reads and other writes use); Result::acks is WAIT's answer.
  int wait_replicas = 0;
  Millis wait_timeout{1000};
  // The body behind an EVALSHA, resent as EVAL on NOSCRIPT. Borrowed: it must outlive the
  // command (scripts are static text), so no copy is made per command.
  const std::string* script = nullptr;
};

struct Result {
  proto::Status status;  // not OK when Redis could not be reached in time (UNAVAILABLE)
  Reply reply;           // the reply, which may itself be a Redis error reply
  int64_t acks = -1;     // WAIT's answer, when asked for
};

struct SlotClientCounters {
  uint64_t commands = 0;
  uint64_t moved = 0;
  uint64_t ask = 0;
  uint64_t tryagain = 0;
  uint64_t clusterdown = 0;
  uint64_t readonly = 0;
  uint64_t noscript = 0;
  uint64_t connection_errors = 0;
  uint64_t refreshes = 0;
  uint64_t unavailable = 0;
};

// The slot-map client: routes each command by the CRC16 slot of its key to the node serving
// it, over one pipelined connection per node, in any of the three topologies.
//
// Every command's callback runs exactly once while the client lives. Destroying the client
// drops the callbacks of commands still running without calling them (no user callback from
// a destructor); do not destroy it from inside one of its callbacks (use deleteLater).
class SlotClient {
 public:
  using Callback = std::function<void(Result&&)>;

  SlotClient(EventLoop& loop, SlotClientOptions options);
  ~SlotClient();

  void start();
  // Runs argv on the node serving `key`'s slot. The callback runs exactly once.
  void command(std::string_view key, std::vector<std::string> argv, CommandOptions options,
               Callback cb);
  // MULTI, the commands (all on `key`'s slot), EXEC: the reply is EXEC's array, one element
  // per command. Cheaper for Redis than a Lua script doing the same reads.
  void transaction(std::string_view key, std::vector<std::vector<std::string>> commands,
                   CommandOptions options, Callback cb);
  // A complete slot map and every master answering PING.
  bool ready() const;
  // "" when ready, else why not, naming the node ("master 10.0.0.5:6379 does not answer PING").
  std::string notReadyReason() const;
  // The nodes given at start (the node, the shards, or the cluster's seeds): what health
  // probes watch.
  const std::vector<Node>& configuredNodes() const { return options_.nodes; }
  const SlotMap& map() const { return map_; }
  const SlotClientCounters& counters() const { return counters_; }
  Topology topology() const { return options_.topology; }

 private:
  struct Op;
  using OpPtr = std::shared_ptr<Op>;

  void launch(std::string_view key, const OpPtr& op);
  void execute(const OpPtr& op);
  // `answered` is the node the command went to (redirections may name it only by port).
  void onReply(const OpPtr& op, const Node& answered, Reply* reply, Failure failure);
  void finish(const OpPtr& op, Result&& result);
  // Counts and ends the op with UNAVAILABLE.
  void unavailable(const OpPtr& op, std::string message);
  static std::string deadlineMessage(const Op& op);
  void retryLater(const OpPtr& op, const std::string& why);
  // Each node has up to three connections: the main one, one for replica reads (READONLY),
  // and one for writes that WAIT for replicas.
  enum class Lane : uint8_t { kMain, kReplica, kDurable };
  static std::string connectionKey(const Node& node, Lane lane);
  Connection* connectionFor(const Node& node, Lane lane);
  struct WaitGroup {
    std::vector<std::pair<OpPtr, uint32_t>> ops;  // with the attempt each write was
    int replicas = 0;
    Millis timeout{0};
    LoopHandle flush;
  };
  void awaitReplicas(const std::string& conn_key, const OpPtr& op, uint32_t gen);
  void sendWait(const std::string& conn_key);
  void requestRefresh();
  void refresh(size_t candidate);
  void maintain();
  void pingMasters();

  EventLoop& loop_;
  SlotClientOptions options_;
  SlotMap map_;
  std::unordered_map<std::string, std::unique_ptr<Connection>> conns_;
  std::unordered_set<OpPtr> ops_;                           // running: their timers go with them
  std::unordered_map<std::string, WaitGroup> wait_groups_;  // by durable connection
  std::unordered_map<std::string, bool> master_up_;
  SlotClientCounters counters_;
  size_t replica_cursor_ = 0;
  bool refreshing_ = false;
  bool refresh_wanted_ = false;
  TimePoint last_refresh_{};
  std::vector<LoopHandle> timers_;
  LoopHandle refresh_next_;  // the next candidate of a refresh, asked on the next round
};

}  // namespace sb::redis
