#include "sb/redis/redis_flags.h"

#include "sb/core/config.h"
#include "sb/redis/redis_url.h"

namespace sb::redis {

void addRedisOptions(CLI::App& app, RedisFlags& f, SlotClientOptions& c) {
  auto* o_single = app.add_option(
      "--redis", f.single,
      "One Redis: redis://[user[:password]@]host[:port][/db] (default redis://127.0.0.1:6379)");
  auto* o_shards = app.add_option("--shard", f.shards,
                                  "Static shards: standalone Redis servers, slots split into "
                                  "contiguous ranges in this order; repeat")
                       ->delimiter(',');
  auto* o_cluster =
      app.add_option("--cluster", f.cluster, "Redis Cluster seed nodes; repeat")->delimiter(',');
  o_single->excludes(o_shards)->excludes(o_cluster);
  o_shards->excludes(o_cluster);
  app.add_option("--redis-password", c.connection.password,
                 "Password for AUTH (prefer the environment or the config file)");
  app.add_option("--redis-user", c.connection.user,
                 "ACL user for AUTH (or in the URL: redis://user:password@host:port)");
  app.add_option("--redis-connect-timeout-ms", f.connect_ms, "Redis connect timeout")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--redis-timeout-ms", f.command_ms,
                 "Redis command timeout: a slower reply drops the connection")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--cluster-refresh-ms", f.refresh_ms, "Periodic slot-map refresh (cluster)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
}

std::optional<std::string> applyRedisOptions(const RedisFlags& f, SlotClientOptions& c) {
  std::vector<std::string> urls;
  if (!f.shards.empty()) {
    c.topology = Topology::kShards;
    urls = f.shards;
  } else if (!f.cluster.empty()) {
    c.topology = Topology::kCluster;
    urls = f.cluster;
  } else {
    c.topology = Topology::kSingle;
    urls = {f.single.empty() ? "redis://127.0.0.1:6379" : f.single};
  }
  for (const auto& url : urls) {
    RedisUrl parsed;
    if (auto st = parseRedisUrl(url, parsed); !st.ok()) return st.message;
    // Credentials and database from the URL, unless the flags gave them; every node of a
    // topology logs in the same way.
    if (!parsed.password.empty() && c.connection.password.empty())
      c.connection.password = parsed.password;
    if (!parsed.user.empty() && c.connection.user.empty()) c.connection.user = parsed.user;
    if (parsed.db != 0) c.connection.db = parsed.db;
    c.nodes.push_back(parsed.node);
  }
  if (c.connection.db != 0 && c.topology == Topology::kCluster) {
    return "Redis Cluster has only database 0";
  }
  c.connection.connect_timeout = Millis(f.connect_ms);
  c.connection.command_timeout = Millis(f.command_ms);
  c.refresh_interval = Millis(f.refresh_ms);
  return std::nullopt;
}

}  // namespace sb::redis
