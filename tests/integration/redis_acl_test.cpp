// The services against a redis-server loaded with deploy/redis/users.acl exactly as shipped:
// the default user off, sb-session, sb-embedding-cache, sb-edge (rate limits) and sb-health
// each logged in as its own user. Every operation that touches Redis is exercised; Redis's
// own ACL LOG must then hold no denial (a missing command or key pattern would be one).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "dispatch.h"
#include "http_get.h"
#include "redis.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string url(const RedisServer& r, const std::string& user, const std::string& password) {
  return "redis://" + user + ":" + password + "@127.0.0.1:" + std::to_string(r.port());
}

// A privileged user appended for the test's own look at ACL LOG (the services never use it).
std::string aclFile(const std::string& dir) {
  std::ifstream in(SB_SOURCE_DIR "/deploy/redis/users.acl");
  std::stringstream acl;
  acl << in.rdbuf();
  std::string path = dir + "/users.acl";
  std::ofstream(path) << acl.str() << "user acl-test-admin on >admin-pw ~* &* +@all\n";
  return path;
}

std::string redisCli(const RedisServer& r, std::vector<std::string> args) {
  std::vector<std::string> all = {
      "-p",       std::to_string(r.port()), "--user", "acl-test-admin", "--pass",
      "admin-pw", "--no-auth-warning"};
  all.insert(all.end(), args.begin(), args.end());
  Process p = Process::startSystem("redis-cli", all);
  p.awaitExit(10s);
  return p.log();
}

json call(Client& c, const std::string& service, const std::string& op, const json& body) {
  std::string packed;
  EXPECT_TRUE(jsonToBody(body.dump(), packed).ok());
  CallOptions o;
  o.deadline = 5000ms;
  auto r = c.call(service, op, packed, o);
  EXPECT_TRUE(r.status.ok()) << service << " " << op << ": " << r.status.message;
  std::string text;
  bodyToJson(r.body, text);
  return json::parse(text, nullptr, false);
}

TEST(RedisAcl, EveryServiceWorksUnderItsDocumentedUserAndRedisDeniesNothing) {
  std::string dir = tempDir();
  RedisServer redis({"--aclfile", aclFile(dir)});
  // The default user is off: no command without logging in.
  EXPECT_EQ(redis.command({"PING"}).rfind("(error) NOAUTH", 0), 0u) << redis.command({"PING"});

  Bus bus;
  auto session = Process::start("sb-session", {"--router", bus.backend(), "--redis",
                                               url(redis, "sb-session", "change-me-session")});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  auto cache = Process::start("sb-embedding-cache",
                              {"--router", bus.backend(), "--redis",
                               url(redis, "sb-embedding-cache", "change-me-embeddings"),
                               "--embed-backend", "kind=hash,models=hash"});
  ASSERT_TRUE(cache.awaitReady(10s)) << cache.log();
  auto infer = startDispatch(bus, "infer", {"--demo-first-token-ms", "1"});
  // An edge whose one key has every kind of limit: admission, lease and settlement scripts.
  std::string keys = dir + "/keys.toml";
  Process mk = Process::start("sbctl",
                              {"key", "create", "acl", "--api-keys", keys, "--rpm", "100", "--tpm",
                               "100", "--concurrent", "4"},
                              {}, false);
  ASSERT_EQ(mk.awaitExit(30s), 0) << mk.log();
  std::string key = mk.log().substr(mk.log().find("sk-sb-"), 49);
  auto edge = Process::start(
      "sb-edge",
      {"--router", bus.frontend(), "--listen", "127.0.0.1:0", "--api-keys", keys, "--redis",
       url(redis, "sb-edge", "change-me-edge"), "--rate-limit-on-error", "refuse"});
  auto port = edge.awaitReady(10s);
  ASSERT_TRUE(port.has_value()) << edge.log();
  int health_admin = freePort();
  auto health =
      Process::start("sb-health", {"--router", bus.backend(), "--probe-router", bus.frontend(),
                                   "--redis", url(redis, "sb-health", "change-me-health"),
                                   "--admin-http", "127.0.0.1:" + std::to_string(health_admin)});
  ASSERT_TRUE(health.awaitReady(10s)) << health.log();

  // Every session operation.
  auto c = bus.client();
  json created = call(*c, "session", "session.create",
                      {{"id", "acl-1"}, {"user", "alice"}, {"op_id", "op-1"}, {"ttl", 600}});
  EXPECT_EQ(created["id"], "acl-1");
  call(*c, "session", "session.append",
       {{"id", "acl-1"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"op_id", "op-2"}});
  call(*c, "session", "session.update", {{"id", "acl-1"}, {"settings", {{"t", 1}}}});
  call(*c, "session", "session.touch", {{"id", "acl-1"}});
  EXPECT_EQ(call(*c, "session", "session.get", {{"id", "acl-1"}})["length"], 1);
  EXPECT_EQ(call(*c, "session", "session.list", {{"user", "alice"}})["sessions"].size(), 1u);
  EXPECT_EQ(call(*c, "session", "session.delete", {{"id", "acl-1"}})["deleted"], true);
  // Embeddings: a miss (lease, compute, store), then a hit.
  for (int i = 0; i < 2; ++i) {
    json e = call(*c, "embeddings", "embed", {{"model", "hash"}, {"inputs", {"under acl"}}});
    EXPECT_TRUE(e.is_object()) << e.dump();
  }
  // The edge's limits: a chat completion admitted, leased and settled through Redis.
  Process curl = Process::startSystem(
      "curl", {"-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + key,
               "-H", "Content-Type: application/json", "-d",
               R"({"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":3})",
               "http://127.0.0.1:" + *port + "/v1/chat/completions"});
  ASSERT_EQ(curl.awaitExit(30s), 0);
  EXPECT_EQ(curl.log(), "200") << edge.log();
  ASSERT_TRUE(waitUntil(
      [&] {
        return redisCli(redis, {"ZCARD", "sb:rl:{acl}:live"}).find('0') == 0;
      },
      10s));
  EXPECT_NE(redisCli(redis, {"GET", "sb:rl:{acl}:tok"}).find('.'), std::string::npos)
      << "the answer's tokens were not charged";
  // Health probes Redis as its own user.
  EXPECT_TRUE(waitUntil(
      [&] {
        json st = json::parse(httpGet(health_admin, "/status").body, nullptr, false);
        return st.is_object() && st["redis"].size() == 1 && st["redis"][0]["up"] == true;
      },
      10s))
      << httpGet(health_admin, "/status").body;

  // Nothing was denied along the way.
  EXPECT_EQ(redisCli(redis, {"ACL", "LOG"}), "\n") << redisCli(redis, {"ACL", "LOG"});
  // And the users are as narrow as documented: the edge's cannot read a session's keys.
  Process denied = Process::startSystem(
      "redis-cli", {"-p", std::to_string(redis.port()), "--user", "sb-edge", "--pass",
                    "change-me-edge", "--no-auth-warning", "GET", "sb:session:{acl-1}:meta"});
  denied.awaitExit(10s);
  EXPECT_NE(denied.log().find("NOPERM"), std::string::npos) << denied.log();
}

}  // namespace
}  // namespace sb::test
