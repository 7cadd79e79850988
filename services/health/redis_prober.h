#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sb/redis/connection.h"
#include "suite_state.h"

namespace sb::health {

// Probes Redis nodes on every round: PING, then CLUSTER INFO (cluster_state; an error reply
// means a standalone node) and, on a cluster, CLUSTER NODES, whose masters and replicas are
// probed from then on as well. One connection per node, made again when it failed.
class RedisProber {
 public:
  RedisProber(EventLoop& loop, std::vector<redis::Node> seeds, redis::ConnectionOptions options);
  ~RedisProber();

  void probe();
  // By address.
  const std::map<std::string, RedisState>& nodes() const { return states_; }
  // Called once per reply or failure, with the probe's round trip (seconds) and success.
  void onProbe(std::function<void(double seconds, bool ok)> fn) { on_probe_ = std::move(fn); }

 private:
  struct Target {
    redis::Node node;
    std::unique_ptr<redis::Connection> conn;
    bool discovered = false;  // from CLUSTER NODES, not a seed
    bool listed = true;       // in the latest CLUSTER NODES we read
  };
  void probeOne(Target& t);
  void readClusterNodes(const std::string& text);
  void failed(const std::string& address, const std::string& why, TimePoint sent);

  EventLoop& loop_;
  redis::ConnectionOptions options_;
  std::map<std::string, Target> targets_;
  std::map<std::string, RedisState> states_;
  std::function<void(double, bool)> on_probe_;
  LoopHandle timeouts_;
};

}  // namespace sb::health
