// TLS on sb-edge's listener (--tls-cert / --tls-key): a root CA, an intermediate and two
// server certificates made with the openssl CLI; the official OpenAI Node SDK and node:tls as
// clients (node/edge_tls.cjs), trusting only the root. A real suite: sb-router, an inference
// worker with the demo backend, and the edge.
#include <gtest/gtest.h>

#include <filesystem>

#include "dispatch.h"
#include "http_get.h"
#include "redis.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

class EdgeTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir();
    makeCertificates();
    std::filesystem::copy_file(dir_ + "/one.pem", dir_ + "/cert.pem");
    std::filesystem::copy_file(dir_ + "/one.key", dir_ + "/key.pem");
    infer_ = startDispatch(bus_, "infer",
                           {"--llm-backend", "kind=demo,models=demo,max_conns=16",
                            "--demo-first-token-ms", "1", "--demo-tokens-per-second", "200"});
    admin_ = freePort();
    edge_ =
        Process::start("sb-edge", {"--router", bus_.frontend(), "--listen", "127.0.0.1:0",
                                   "--tls-cert", dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem",
                                   "--admin-http", "127.0.0.1:" + std::to_string(admin_)});
    auto ready = edge_.awaitReady(10s);
    ASSERT_TRUE(ready.has_value()) << edge_.log();
    port_ = *ready;
  }

  // A root, an intermediate it signs, "edge-one" signed by the root and "edge-two" by the
  // intermediate (two.chain.pem: the certificate, then the intermediate), P-256 keys.
  void makeCertificates() {
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    sh("openssl req -x509 " + key + " -keyout root.key -out root.pem -days 2 -subj /CN=sb-root" +
       " -addext basicConstraints=critical,CA:TRUE");
    sh("openssl req -x509 " + key + " -keyout mid.key -out mid.pem -days 2 -subj /CN=sb-mid" +
       " -CA root.pem -CAkey root.key -addext basicConstraints=critical,CA:TRUE");
    sh("openssl req -x509 " + key + " -keyout one.key -out one.pem -days 2 -subj /CN=edge-one" +
       " -CA root.pem -CAkey root.key -addext subjectAltName=IP:127.0.0.1");
    sh("openssl req -x509 " + key + " -keyout two.key -out two.pem -days 3 -subj /CN=edge-two" +
       " -CA mid.pem -CAkey mid.key -addext subjectAltName=IP:127.0.0.1");
    sh("cat two.pem mid.pem > two.chain.pem");
  }

  void sh(const std::string& command) {
    Process p = Process::startSystem("sh", {"-c", "cd '" + dir_ + "' && " + command});
    ASSERT_EQ(p.awaitExit(30s), 0) << command << "\n" << p.log();
  }

  // Runs one check of node/edge_tls.cjs; its exit code (its output goes to the test's).
  int node(const std::string& check) {
    Process p = Process::startSystem(
        "env", {"NODE_PATH=" SB_NODE_MODULES, "NODE_EXTRA_CA_CERTS=" + dir_ + "/root.pem",
                "EDGE=https://127.0.0.1:" + port_ + "/v1", "EDGE_PORT=" + port_,
                "EDGE_PID=" + std::to_string(edge_.pid()),
                "EDGE_ADMIN=http://127.0.0.1:" + std::to_string(admin_),
                "CERT_FILE=" + dir_ + "/cert.pem", "KEY_FILE=" + dir_ + "/key.pem",
                "ONE_KEY=" + dir_ + "/one.key", "TWO_CERT=" + dir_ + "/two.chain.pem",
                "TWO_KEY=" + dir_ + "/two.key", "node", SB_NODE_TESTS "/edge_tls.cjs", check});
    auto rc = p.awaitExit(120s);
    std::cout << p.log();
    return rc.value_or(-1);
  }

  // notAfter of a certificate, in seconds since the epoch, as the openssl CLI reads it.
  std::string notAfter(const std::string& cert) {
    Process p =
        Process::startSystem("sh", {"-c", "date -d \"$(openssl x509 -in '" + dir_ + "/" + cert +
                                              "' -noout -enddate | cut -d= -f2)\" +%s"});
    EXPECT_EQ(p.awaitExit(30s), 0) << p.log();
    std::string out = p.log();
    return out.substr(0, out.find('\n'));
  }

  std::string metric(const std::string& name) {
    std::string text = httpGet(admin_, "/metrics").body;
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return "";
    at += name.size() + 2;
    return text.substr(at, text.find('\n', at) - at);
  }

  Bus bus_;
  Process infer_, edge_;
  std::string dir_, port_;
  int admin_ = 0;
};

TEST_F(EdgeTls, TheSdkTalksHttpsAndPlainHttpGetsNoAnswer) {
  ASSERT_EQ(node("sdkOverHttps"), 0) << edge_.log();
  EXPECT_NE(edge_.log().find("OpenAI base URL https://127.0.0.1:" + port_ + "/v1"),
            std::string::npos)
      << edge_.log();
}

TEST_F(EdgeTls, SighupSwapsTheCertificateForNewConnectionsWhileAStreamRunsOn) {
  EXPECT_EQ(metric("sb_edge_tls_certificate_expiry_timestamp_seconds"), notAfter("one.pem"));
  ASSERT_EQ(node("reloadSwapsTheCertificateAndKeepsWhatRuns"), 0) << edge_.log();
  EXPECT_EQ(metric("sb_edge_tls_certificate_expiry_timestamp_seconds"), notAfter("two.pem"));
  EXPECT_NE(edge_.log().find("is not the private key of the certificate"), std::string::npos)
      << edge_.log();
}

TEST_F(EdgeTls, AClientThatLeavesAnEncryptedConnectionIsNoticedAtOnce) {
  // 4000 tokens at 200 a second would take 20 s: the edge sees each client leave and ends its
  // request without waiting for the answer (node waits for that in the edge's metrics).
  ASSERT_EQ(node("aClientThatLeavesIsNoticed"), 0) << edge_.log();
  std::string log = edge_.log();
  size_t first = log.find("status=499");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_NE(log.find("status=499", first + 1), std::string::npos) << log;
}

TEST_F(EdgeTls, AMismatchedPairStopsTheStartAndALooseKeyIsWarnedAbout) {
  auto bad =
      Process::start("sb-edge", {"--router", bus_.frontend(), "--listen", "127.0.0.1:0",
                                 "--tls-cert", dir_ + "/one.pem", "--tls-key", dir_ + "/two.key"});
  EXPECT_EQ(bad.awaitExit(10s), 1);
  EXPECT_NE(bad.log().find("two.key is not the private key of the certificate in"),
            std::string::npos)
      << bad.log();
  // A key every user may read works, with a warning.
  std::filesystem::copy_file(dir_ + "/one.key", dir_ + "/loose.key");
  std::filesystem::permissions(dir_ + "/loose.key", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto loose = Process::start("sb-edge",
                              {"--router", bus_.frontend(), "--listen", "127.0.0.1:0", "--tls-cert",
                               dir_ + "/one.pem", "--tls-key", dir_ + "/loose.key"});
  ASSERT_TRUE(loose.awaitReady(10s)) << loose.log();
  EXPECT_NE(loose.log().find("holds a TLS private key and every user on this host can read it"),
            std::string::npos)
      << loose.log();
  EXPECT_EQ(edge_.log().find("every user on this host can read it"), std::string::npos);
  auto half = Process::start("sb-edge", {"--router", bus_.frontend(), "--listen", "127.0.0.1:0",
                                         "--tls-cert", dir_ + "/one.pem"});
  EXPECT_EQ(half.awaitExit(10s), 2);
  EXPECT_NE(half.log().find("--tls-cert and --tls-key go together"), std::string::npos)
      << half.log();
}

}  // namespace
}  // namespace sb::test
