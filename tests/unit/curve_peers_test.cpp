// CURVE key files (czmq's certificate format) and the router's allow-list: strict parsing,
// keys by role, services per worker key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "process.h"
#include "sb/auth/curve_keys.h"
#include "sb/auth/curve_peers.h"

namespace sb::auth {
namespace {

TEST(CurveKeys, ACertificateRoundTripsAndItsHalvesMustMatch) {
  std::string dir = test::tempDir();
  CurveKeyPair pair = generateCurveKeyPair();
  ASSERT_TRUE(validCurveKey(pair.public_key));
  ASSERT_TRUE(validCurveKey(pair.secret_key));
  ASSERT_EQ(writeCurveCertificate(dir, "unit", pair), std::nullopt);
  // The secret is for its owner only; the public half is for everyone.
  struct stat secret {
  }, pub_file{};
  ASSERT_EQ(stat((dir + "/unit.key_secret").c_str(), &secret), 0);
  ASSERT_EQ(stat((dir + "/unit.key").c_str(), &pub_file), 0);
  EXPECT_EQ(secret.st_mode & 0777, 0600u);
  EXPECT_NE(pub_file.st_mode & 0044, 0u);
  CurveKeyPair back;
  ASSERT_EQ(readCurveCertificate(dir + "/unit.key_secret", true, back), std::nullopt);
  EXPECT_EQ(back.public_key, pair.public_key);
  EXPECT_EQ(back.secret_key, pair.secret_key);
  // The public file has no secret: fine for a public key, an error where a secret is needed.
  ASSERT_EQ(readCurveCertificate(dir + "/unit.key", false, back), std::nullopt);
  EXPECT_EQ(back.secret_key, "");
  EXPECT_NE(readCurveCertificate(dir + "/unit.key", true, back), std::nullopt);
  std::string pub;
  ASSERT_EQ(readCurvePublicKey(dir + "/unit.key", pub), std::nullopt);
  EXPECT_EQ(pub, pair.public_key);
  ASSERT_EQ(readCurvePublicKey(pair.public_key, pub), std::nullopt);  // given as text
  EXPECT_NE(readCurvePublicKey("not-a-key", pub), std::nullopt);
  // A secret file whose public half belongs to another pair is refused.
  CurveKeyPair other = generateCurveKeyPair();
  std::ofstream(dir + "/mixed.key_secret")
      << "curve\n    public-key = \"" << other.public_key << "\"\n    secret-key = \""
      << pair.secret_key << "\"\n";
  auto err = readCurveCertificate(dir + "/mixed.key_secret", true, back);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("not the secret-key's"), std::string::npos) << *err;
  EXPECT_EQ(curveFingerprint(pair.public_key), pair.public_key.substr(0, 10));
}

TEST(CurvePeers, KeysAreFoundByRoleAndWorkersByService) {
  CurveKeyPair edge = generateCurveKeyPair(), infer = generateCurveKeyPair();
  std::string text = "[[client]]\nname = \"edge\"\nkey = \"" + edge.public_key +
                     "\"\n[[worker]]\nname = \"infer\"\nkey = \"" + infer.public_key +
                     "\"\nservices = [\"infer\"]\n";
  CurvePeers peers;
  ASSERT_EQ(parseCurvePeers(text, ".", peers), std::nullopt);
  ASSERT_NE(peers.find(PeerRole::kClient, edge.public_key), nullptr);
  EXPECT_EQ(peers.find(PeerRole::kWorker, edge.public_key), nullptr);  // a client key only
  const CurvePeer* w = peers.find(PeerRole::kWorker, infer.public_key);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->mayServe("infer"));
  EXPECT_FALSE(w->mayServe("session"));
  EXPECT_TRUE(peers.find(PeerRole::kClient, edge.public_key)->mayServe("anything"));
  EXPECT_EQ(peers.size(PeerRole::kClient), 1u);
  EXPECT_EQ(peers.size(PeerRole::kWorker), 1u);
}

TEST(CurvePeers, EveryMistakeIsRefusedWithItsLine) {
  std::string key = generateCurveKeyPair().public_key;
  auto error = [](const std::string& text) {
    CurvePeers p;
    return parseCurvePeers(text, "/nonexistent", p).value_or("");
  };
  std::string ok = "[[worker]]\nname = \"a\"\nkey = \"" + key + "\"\n";
  EXPECT_EQ(error(ok), "");
  EXPECT_NE(error(ok + "role = 1\n").find("unknown field"), std::string::npos);
  EXPECT_NE(error(ok + ok).find("two workers are named 'a'"), std::string::npos);
  EXPECT_NE(error(ok + "[[worker]]\nname = \"b\"\nkey = \"" + key + "\"\n").find("repeats"),
            std::string::npos);
  // The same key as client and worker is allowed (a process that is both).
  EXPECT_EQ(error(ok + "[[client]]\nname = \"a\"\nkey = \"" + key + "\"\n"), "");
  EXPECT_NE(error("[[client]]\nname = \"a\"\nkey = \"short\"\n").find("40 Z85"), std::string::npos);
  EXPECT_NE(error("[[client]]\nname = \"a\"\n").find("either key or key_file"), std::string::npos);
  EXPECT_NE(error("[[client]]\nname = \"a\"\nkey_file = \"gone.key\"\n").find("cannot read"),
            std::string::npos);
  EXPECT_NE(error("[[client]]\nname = \"a\"\nkey = \"" + key + "\"\nservices = [\"x\"]\n")
                .find("unknown field"),
            std::string::npos);  // services are for workers
  EXPECT_NE(error("[[admin]]\nname = \"a\"\n").find("unknown table"), std::string::npos);
  EXPECT_NE(error("\n\n[[worker]\n").find("line 3"), std::string::npos);
}

}  // namespace
}  // namespace sb::auth
