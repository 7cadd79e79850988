#include "sbctl.h"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bus_call.h"
#include "key_commands.h"
#include "sb/compose/chat_turn.h"
#include "sb/core/config.h"
#include "sb/core/json_body.h"
#include "sb/policy/keyslot.h"
#include "sb/proto/body_codec.h"
#include "sb/redis/redis_url.h"
#include "sb/redis/slot_map.h"
#include "status_table.h"
#include "suite_commands.h"

namespace sb::sbctl {
namespace {

int fail(const proto::Status& st) {
  std::cerr << proto::errorCodeName(st.code) << ": " << st.message << "\n";
  return 1;
}

std::string toJson(std::string_view body) {
  std::string json;
  if (!bodyToJson(body, json).ok())
    return "<" + std::to_string(body.size()) + " bytes, not msgpack>";
  return json;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{
      "Switchboard control: run a suite (up, ps, scale, restart, down), call services, "
      "inspect and drain the router",
      "sbctl"};
  app.require_subcommand(1);
  std::vector<std::string> routers{"tcp://127.0.0.1:5555"};
  app.add_option("--router", routers,
                 "Router client endpoint; repeat (or comma-separate) for several: each request "
                 "goes to a live one")
      ->delimiter(',')
      ->envname("SB_ROUTER")
      ->capture_default_str();
  CurveFlags curve_flags;
  addCurveClientOptions(app, curve_flags);
  int64_t deadline_ms = 30000;
  app.add_option("--deadline-ms", deadline_ms, "Deadline of each request")
      ->envname("SB_DEADLINE_MS")
      ->check(sb::positiveNumber())
      ->capture_default_str();

  auto* call =
      app.add_subcommand("call", "Call SERVICE OP with a JSON body; prints chunks and the reply");
  std::string service, op, json = "null", model, worker;
  bool idempotent = false;
  call->add_option("service", service, "Service name")->required();
  call->add_option("op", op, "Operation")->required();
  call->add_option("json", json, "Request body as JSON")->capture_default_str();
  call->add_option("--model", model, "Model / route tag");
  call->add_option("--worker", worker, "Send to this worker (by name) only");
  call->add_flag("--idempotent", idempotent,
                 "Allow re-dispatch if the worker dies before replying");

  auto* chat = app.add_subcommand(
      "chat",
      "One chat turn in a session: history from the session service, the reply streamed "
      "from the inference workers, both messages saved");
  ChatTurnOptions turn;
  std::string chat_text;
  chat->add_option("--session", turn.session, "Session id (created on first use)")->required();
  chat->add_option("--model", turn.model, "Model / route tag");
  chat->add_option("--history", turn.history, "Messages of history sent as context")
      ->capture_default_str();
  chat->add_option("text", chat_text, "What the user says")->required();

  auto* status = app.add_subcommand("status", "The router's view: workers, services, counters");
  bool as_json = false;
  status->add_flag("--json", as_json, "Print JSON instead of tables");

  auto* drain = app.add_subcommand("drain", "Drain a worker: no new work, finish, exit");
  std::string drain_name;
  drain->add_option("worker", drain_name, "Worker name (see sbctl status)")->required();

  auto* metrics = app.add_subcommand("metrics", "The router's metrics in Prometheus text format");

  auto* slots = app.add_subcommand(
      "slots", "Print the slot map: of static shards given here, or the session service's own");
  std::vector<std::string> shard_urls;
  slots->add_option("--shard", shard_urls, "A standalone Redis shard, in order; repeat")
      ->delimiter(',');

  auto* keyslot = app.add_subcommand("keyslot", "Print the Redis Cluster slot of each KEY");
  std::vector<std::string> keys;
  keyslot->add_option("keys", keys, "Keys")->required();

  ctl::SuiteArgs suite;
  ctl::addSuiteCommands(app, suite);
  ctl::KeyArgs key_args;
  ctl::addKeyCommands(app, key_args);
  // The common options (--router, --curve-*, --deadline-ms) may come after the subcommand too.
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->fallthrough();

  if (auto rc = parseCommandLine(app, argc, argv)) return *rc;
  if (auto rc = ctl::runSuiteCommand(suite)) return *rc;
  if (auto rc = ctl::runKeyCommand(key_args)) return *rc;

  if (*keyslot) {
    for (const auto& k : keys) std::cout << k << " " << keySlot(k) << "\n";
    return 0;
  }

  if (*slots && !shard_urls.empty()) {
    std::vector<redis::Node> nodes;
    for (const auto& url : shard_urls) {
      redis::RedisUrl parsed;
      if (auto st = redis::parseRedisUrl(url, parsed); !st.ok()) return fail(st);
      nodes.push_back(parsed.node);
    }
    redis::SlotMap map = redis::SlotMap::split(nodes);  // ranges() points into it
    for (const auto& r : map.ranges()) {
      std::cout << r.first << "-" << r.last << " " << r.shard->master.address() << "\n";
    }
    return 0;
  }

  CurveClientKeys curve;
  if (auto err = loadCurveClient(curve_flags, curve)) {
    std::cerr << "sbctl: " << *err << "\n";
    return 2;
  }
  zmq::context_t context(1);
  CallOptions opts;
  opts.deadline = Millis(deadline_ms);
  if (*slots) {
    auto result = callBus(context, routers, curve, "session", "session.status", {}, opts);
    if (!result.status.ok()) return fail(result.status);
    std::string text;
    if (auto st = bodyToJson(result.body, text); !st.ok()) return fail(st);
    nlohmann::json status = nlohmann::json::parse(text);  // the loop reads into it
    for (const auto& r : status["slots"]) {
      std::cout << r[0] << "-" << r[1] << " " << r[2].get<std::string>() << "\n";
    }
    return 0;
  }

  if (*call) {
    std::string body;
    if (auto st = jsonToBody(json, body); !st.ok())
      return fail({st.code, "request body: " + st.message});
    opts.model = model;
    opts.target = worker;
    opts.idempotent = idempotent;
    auto result = callBus(context, routers, curve, service, op, body, opts,
                          [](const Incoming& in) { std::cout << toJson(in.body) << std::endl; });
    if (!result.status.ok()) return fail(result.status);
    std::cout << toJson(result.body) << std::endl;
    return 0;
  }
  if (*chat) {
    turn.deadline = Millis(deadline_ms);
    auto r = runChatTurn(
        context, routers, turn, chat_text,
        [](std::string_view token) {
          std::cout << token << std::flush;  // as it arrives
        },
        curve);
    std::cout << "\n";
    if (!r.status.ok()) return fail(r.status);
    return 0;
  }
  if (*status) {
    auto result = callBus(context, routers, curve, "router", "status", {}, opts);
    if (!result.status.ok()) return fail(result.status);
    std::string text;
    if (auto st = bodyToJson(result.body, text, as_json ? 2 : -1); !st.ok()) return fail(st);
    if (as_json) {
      std::cout << text << "\n";
    } else {
      std::cout << statusTable(nlohmann::json::parse(text));
    }
    return 0;
  }
  if (*drain) {
    std::map<std::string, std::string> req{{"worker", drain_name}};
    auto result = callBus(context, routers, curve, "router", "drain", proto::packBody(req), opts);
    if (!result.status.ok()) return fail(result.status);
    std::cout << "draining " << drain_name << "\n";
    return 0;
  }
  if (*metrics) {
    auto result = callBus(context, routers, curve, "router", "metrics", {}, opts);
    if (!result.status.ok()) return fail(result.status);
    msgpack::object_handle oh;
    if (auto st = proto::decodeBody(result.body, {}, oh); !st.ok()) return fail(st);
    if (oh.get().type != msgpack::type::STR)
      return fail({proto::ErrorCode::kInternal, "metrics body is not text"});
    std::cout << oh.get().as<std::string>();
    return 0;
  }
  return 2;
}

}  // namespace sb::sbctl
