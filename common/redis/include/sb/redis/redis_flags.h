#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sb/redis/slot_client.h"

namespace sb::redis {

// The flags every Redis-backed service has: --redis URL | --shard URL... | --cluster URL...,
// --redis-user, --redis-password, --redis-connect-timeout-ms, --redis-timeout-ms,
// --cluster-refresh-ms. Call applyRedisOptions after parsing.
struct RedisFlags {
  std::string single;
  std::vector<std::string> shards, cluster;
  int64_t connect_ms = 1000, command_ms = 1000, refresh_ms = 10000;
};
void addRedisOptions(CLI::App& app, RedisFlags& flags, SlotClientOptions& options);
// The topology and nodes from the URLs (credentials and database from the URL unless the
// flags gave them); an error message for a bad URL or a database on a cluster.
std::optional<std::string> applyRedisOptions(const RedisFlags& flags, SlotClientOptions& options);

}  // namespace sb::redis
