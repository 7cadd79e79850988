#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::ctl {

// One kind of process in a topology file: how many, started how, after what.
struct ServiceSpec {
  std::string name;     // the table's name ("router", "infer", ...): instance names derive from it
  std::string program;  // in build/bin (default: from the name, see programFor)
  int instances = 1;
  // Arguments, with {instance} (1, 2, ...), {name} (NAME-{instance}), {admin_port}
  // (admin_port + instance - 1) and {port} (port + instance - 1) replaced for each instance.
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::vector<std::string> after;  // services (or "redis") started and ready before this one
  int admin_port = 0;              // 0: no admin listener
  int port = 0;                    // the service's own port, {port} (port + instance - 1)
};

struct RedisSpec {
  bool embedded = true;  // start a local redis-server (the default)
  int port = 6379;       // for the embedded one
  std::string url;       // an external Redis instead (embedded = false)
};

// A suite on one machine, from a TOML file (deploy/local.toml):
//
//   banner = "..."              printed once the suite is up
//   [redis]                     embedded = true, port = 6379  |  url = "redis://host:port"
//   [service.NAME]              program, instances, args, env = { K = "v" }, after, admin_port,
//                               port
//
// Services keep the file's order; startOrder() sorts them by `after`.
struct Topology {
  std::string banner;  // printed once everything is ready (how to talk to the suite)
  RedisSpec redis;
  std::vector<ServiceSpec> services;
};

// Parses with toml++; nullopt or an error naming the key and line ("service.infer.instances:
// must be 1..64 (line 12)"). Unknown keys are errors: a typo must not be ignored.
std::optional<std::string> parseTopology(std::string_view text, Topology& out);

// The services in an order that starts each after everything it names in `after`; an error
// for a name that is not a service (nor "redis") or for a cycle.
std::optional<std::string> startOrder(const Topology& t, std::vector<std::string>& order);

// The services of `order` grouped in levels started together: each level after every level that
// holds something it names in `after` (redis comes before all of them).
std::vector<std::vector<std::string>> startLevels(const Topology& t,
                                                  const std::vector<std::string>& order);

// One instance's argument list with the placeholders replaced.
std::vector<std::string> instanceArgs(const ServiceSpec& s, int instance);

// The default program of a service name: router -> sb-router, session -> sb-session,
// infer -> sb-inference-dispatch, embeddings -> sb-embedding-cache, edge -> sb-edge,
// health -> sb-health, echo -> sb-echo; "" for other names (they must name a program).
std::string programFor(std::string_view name);

}  // namespace sb::ctl
