// CURVE on the bus: a router with a key pair and an allow-list by role, echo workers and a
// client with their own keys made by `sbctl keygen`. Round trips work encrypted; a worker
// whose key is unknown, a client key used by a worker, a worker key announcing a service it
// may not serve, and a worker holding the wrong router key are all kept out with a clear
// line in the logs; the allow-list reloads on SIGHUP; a secret key every user may read is
// warned about.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "bus.h"
#include "http_get.h"
#include "redis.h"
#include "sb/auth/curve_keys.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class Curve : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir() + "/curve-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(system(("mkdir -p " + dir_).c_str()), 0);
    for (const char* who : {"router", "client", "echo", "limited", "stranger"}) keygen(who);
    writePeers({"echo", "limited"});
    admin_ = freePort();
    bus_ = std::make_unique<Bus>(std::vector<std::string>{
        "--curve-secret", secret("router"), "--curve-peers", dir_ + "/peers.toml", "--admin-http",
        "127.0.0.1:" + std::to_string(admin_)});
    CurveClientKeys client;
    client.server_key = pub("router");
    auth::CurveKeyPair own;
    ASSERT_EQ(auth::readCurveCertificate(secret("client"), true, own), std::nullopt);
    client.public_key = own.public_key;
    client.secret_key = own.secret_key;
    bus_->useCurve(client);
  }

  void keygen(const std::string& name) {
    Process p = Process::start("sbctl", {"keygen", name, "--dir", dir_}, {}, false);
    ASSERT_EQ(p.awaitExit(30s), 0) << p.log();
    std::string key;
    ASSERT_EQ(auth::readCurvePublicKey(dir_ + "/" + name + ".key", key), std::nullopt);
    public_[name] = key;
  }
  std::string secret(const std::string& name) { return dir_ + "/" + name + ".key_secret"; }
  std::string pub(const std::string& name) { return public_[name]; }

  // The router's allow-list: the client as a client, `workers` as workers (limited to "other").
  void writePeers(const std::vector<std::string>& workers, bool with_client = true) {
    std::ofstream out(dir_ + "/peers.toml.tmp");
    if (with_client) out << "[[client]]\nname = \"client\"\nkey_file = \"client.key\"\n";
    for (const auto& w : workers) {
      out << "[[worker]]\nname = \"" << w << "\"\nkey_file = \"" << w << ".key\"\n";
      if (w == "limited") out << "services = [\"other\"]\n";
    }
    out.close();
    std::rename((dir_ + "/peers.toml.tmp").c_str(), (dir_ + "/peers.toml").c_str());
  }

  // An echo worker with `key`'s certificate, trusting `router_key` as the router's.
  Process echo(const std::string& name, const std::string& key, const std::string& router_key) {
    return Process::start(
        "sb-echo", {"--router", bus_->backend(), "--name", name, "--curve-secret", secret(key),
                    "--curve-router-key", router_key, "--heartbeat-ms", "200"});
  }

  CallResult call(const std::string& service, const std::string& text) {
    auto c = bus_->client();
    CallOptions o;
    o.deadline = 3000ms;
    return c->call(service, "echo", packBody(text), o);
  }
  static std::string packBody(const std::string& text) {
    std::string body;
    jsonToBody(nlohmann::json{{"text", text}}.dump(), body);
    return body;
  }

  uint64_t handshakes(const std::string& result) {
    std::string m = httpGet(admin_, "/metrics").body;
    std::smatch match;
    std::regex re("sb_router_curve_handshakes_total\\{result=\"" + result + "\"\\} (\\d+)");
    return std::regex_search(m, match, re) ? std::stoull(match[1]) : 0;
  }

  std::string dir_;
  std::map<std::string, std::string> public_;
  int admin_ = 0;
  std::unique_ptr<Bus> bus_;
};

TEST_F(Curve, RoundTripsThroughRouterWorkerAndClientAreEncryptedAndAuthenticated) {
  Process w = echo("echo-1", "echo", pub("router"));
  ASSERT_TRUE(w.awaitReady(10s)) << w.log() << bus_->router().log();
  auto r = call("echo", "hello over curve");
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  std::string json;
  bodyToJson(r.body, json);
  EXPECT_NE(json.find("hello over curve"), std::string::npos) << json;
  EXPECT_GE(handshakes("allowed"), 2u);  // the worker and the client
  EXPECT_NE(bus_->router().log().find("CURVE (key " + pub("router").substr(0, 10)),
            std::string::npos);
  // A client without keys gets nowhere: the router speaks only CURVE.
  Client plain(bus_->context(), bus_->frontend());
  CallOptions o;
  o.deadline = 500ms;
  EXPECT_FALSE(plain.call("echo", "echo", packBody("x"), o).status.ok());
  // A worker without keys is told why in its own log (libzmq reports the router's CURVE
  // greeting as a mechanism mismatch, or, when the router closed first, as a broken pipe).
  Process keyless = Process::start("sb-echo", {"--router", bus_->backend(), "--name", "keyless"});
  EXPECT_TRUE(waitUntil(
      [&] {
        return keyless.log().find("give this process --curve-secret and --curve-router-key") !=
                   std::string::npos ||
               keyless.log().find("asks for CURVE and this process has no keys") !=
                   std::string::npos;
      },
      10s))
      << keyless.log();
}

TEST_F(Curve, AWorkerWithAnUnknownKeyIsRefusedLoggedOnceAndNeverGetsARequest) {
  Process w = echo("stranger-1", "stranger", pub("router"));
  // It keeps trying (a new connection each liveness period); the router logs it once.
  ASSERT_TRUE(waitUntil([&] { return handshakes("refused") >= 3; }, 20s)) << w.log();
  std::string log = bus_->router().log();
  EXPECT_EQ(count(log, "refused a worker connection from 127.0.0.1 with key " +
                           pub("stranger").substr(0, 10)),
            1u)
      << log;
  EXPECT_EQ(log.find(pub("stranger")), std::string::npos) << "a whole key in the log";
  EXPECT_NE(w.log().find("refused our CURVE key " + pub("stranger").substr(0, 10)),
            std::string::npos)
      << w.log();
  EXPECT_FALSE(bus_->hasWorker("stranger-1"));
  auto r = call("echo", "for nobody");
  EXPECT_EQ(r.status.code, proto::ErrorCode::kUnavailable) << r.status.message;
  EXPECT_EQ(w.log().find("for nobody"), std::string::npos);
}

TEST_F(Curve, AClientKeyCannotRegisterAsAWorker) {
  Process w = echo("sneaky-1", "client", pub("router"));
  ASSERT_TRUE(waitUntil([&] { return handshakes("refused") >= 1; }, 10s)) << w.log();
  EXPECT_NE(bus_->router().log().find("refused a worker connection"), std::string::npos);
  EXPECT_FALSE(bus_->hasWorker("sneaky-1"));
}

TEST_F(Curve, AWorkerKeyServesOnlyItsServices) {
  Process w = echo("limited-1", "limited", pub("router"));
  ASSERT_TRUE(
      waitUntil([&] { return w.log().find("may not serve 'echo'") != std::string::npos; }, 10s))
      << w.log();
  EXPECT_NE(w.log().find("the CURVE key of 'limited' may not serve 'echo'"), std::string::npos);
  EXPECT_FALSE(bus_->hasWorker("limited-1"));
}

TEST_F(Curve, AWorkerHoldingTheWrongRouterKeySaysSoAndNeverJoins) {
  Process w = echo("lost-1", "echo", pub("stranger"));
  ASSERT_TRUE(waitUntil(
      [&] { return w.log().find("CURVE handshake with router") != std::string::npos; }, 10s))
      << w.log();
  EXPECT_NE(w.log().find("is --curve-router-key that router's public key"), std::string::npos)
      << w.log();
  EXPECT_FALSE(bus_->hasWorker("lost-1"));
}

TEST_F(Curve, ASecretKeyEveryUserCanReadIsWarnedAbout) {
  namespace fs = std::filesystem;
  fs::copy_file(secret("echo"), secret("loose"));
  fs::permissions(secret("loose"), fs::perms::others_read, fs::perm_options::add);
  Process loose = echo("loose-1", "loose", pub("router"));
  ASSERT_TRUE(loose.awaitReady(10s)) << loose.log();
  EXPECT_NE(loose.log().find("holds a CURVE secret key and every user on this host can read it"),
            std::string::npos)
      << loose.log();
  Process tight = echo("tight-1", "echo", pub("router"));  // sbctl keygen's 0600
  ASSERT_TRUE(tight.awaitReady(10s)) << tight.log();
  EXPECT_EQ(tight.log().find("every user on this host can read it"), std::string::npos)
      << tight.log();
}

TEST_F(Curve, SighupReloadsTheAllowList) {
  Process stranger = echo("stranger-1", "stranger", pub("router"));
  Process w = echo("echo-1", "echo", pub("router"));
  ASSERT_TRUE(w.awaitReady(10s)) << w.log();
  ASSERT_TRUE(waitUntil([&] { return handshakes("refused") >= 1; }, 10s));
  // Let the stranger in, and take the echo worker's key out.
  writePeers({"stranger"});
  bus_->router().signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return bus_->hasWorker("stranger-1"); }, 20s))
      << bus_->router().log() << stranger.log();
  ASSERT_TRUE(waitUntil([&] { return !bus_->hasWorker("echo-1"); }, 10s)) << bus_->router().log();
  EXPECT_NE(bus_->router().log().find("CURVE peers reloaded: 1 client and 1 worker keys"),
            std::string::npos);
  auto r = call("echo", "to the stranger");
  EXPECT_TRUE(r.status.ok()) << r.status.message;
  // The client's key goes too: its open connection gets PERMISSION_DENIED from now on.
  auto c = bus_->client();
  CallOptions o;
  o.deadline = 3000ms;
  ASSERT_TRUE(c->call("echo", "echo", packBody("before"), o).status.ok());
  writePeers({"stranger"}, false);
  bus_->router().signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] {
        return bus_->router().log().find("reloaded: 0 client and 1 worker keys") !=
               std::string::npos;
      },
      10s));
  EXPECT_EQ(c->call("echo", "echo", packBody("after"), o).status.code,
            proto::ErrorCode::kPermissionDenied);
  // A broken file is refused and the list in force stays.
  std::ofstream(dir_ + "/peers.toml") << "[[worker]]\nname = \"x\"\n";
  bus_->router().signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] { return bus_->router().log().find("CURVE peers not reloaded") != std::string::npos; },
      10s));
  // (router.status needs a client key now: the admin listener tells instead)
  EXPECT_NE(httpGet(admin_, "/metrics").body.find("sb_router_live_workers{service=\"echo\"} 1"),
            std::string::npos);
}

TEST(CurveWarning, APlainRouterOnANonLoopbackAddressWarnsLoudly) {
  // Bound, never connected to: no traffic leaves loopback.
  Process r = Process::start("sb-router",
                             {"--frontend", "tcp://0.0.0.0:0", "--backend", "tcp://127.0.0.1:0"});
  ASSERT_TRUE(r.awaitReady(10s)) << r.log();
  EXPECT_NE(r.log().find("PLAIN TCP ON tcp://0.0.0.0:"), std::string::npos) << r.log();
  EXPECT_EQ(r.log().find("PLAIN TCP ON tcp://127.0.0.1"), std::string::npos) << r.log();
}

}  // namespace
}  // namespace sb::test
