// The API key file and key ring: strict parsing (every mistake named with its line), a
// round trip through the writer, generated keys, and lookup by hash.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "process.h"
#include "sb/auth/api_keys.h"

namespace sb::auth {
namespace {

const std::string kHash(64, 'a');

TEST(ApiKeys, HashIsSha256InLowerCaseHex) {
  // FIPS 180-2's test vector.
  EXPECT_EQ(hashApiKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, GeneratedKeysAreLongRandomAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string k = generateApiKey();
    ASSERT_EQ(k.rfind("sk-sb-", 0), 0u) << k;
    EXPECT_EQ(k.size(), 6u + 43u) << k;  // 256 bits in base64url without padding
    EXPECT_EQ(
        k.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 6),
        std::string::npos)
        << k;
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ApiKeys, AFileRoundTripsThroughTheWriter) {
  KeyFile f;
  ApiKey a;
  a.name = "alice";
  a.sha256 = hashApiKey("one");
  a.models = {"llama3", "demo"};
  a.requests_per_minute = 60;
  a.tokens_per_minute = 100000;
  a.concurrent = 4;
  a.created = "2026-11-22T23:50:00Z";
  ApiKey b;
  b.name = "bob@ops";
  b.sha256 = hashApiKey("two");
  f.keys = {a, b};
  KeyFile back;
  ASSERT_EQ(parseKeyFile(renderKeyFile(f), back), std::nullopt) << renderKeyFile(f);
  ASSERT_EQ(back.keys.size(), 2u);
  EXPECT_EQ(back.keys[0].name, "alice");
  EXPECT_EQ(back.keys[0].sha256, a.sha256);
  EXPECT_EQ(back.keys[0].models, a.models);
  EXPECT_EQ(back.keys[0].requests_per_minute, 60);
  EXPECT_EQ(back.keys[0].tokens_per_minute, 100000);
  EXPECT_EQ(back.keys[0].concurrent, 4);
  EXPECT_EQ(back.keys[0].created, a.created);
  EXPECT_TRUE(back.keys[0].limited());
  EXPECT_EQ(back.keys[1].name, "bob@ops");
  EXPECT_FALSE(back.keys[1].limited());
  EXPECT_TRUE(back.keys[1].models.empty());
  // An empty file is no keys (an edge that refuses everyone), not an error.
  KeyFile none;
  EXPECT_EQ(parseKeyFile(renderKeyFile(KeyFile{}), none), std::nullopt);
  EXPECT_TRUE(none.keys.empty());
}

TEST(ApiKeys, TheFileIsWrittenWholeAndForItsOwnerOnly) {
  std::string path = test::tempDir() + "/keys.toml";
  KeyFile f;
  ApiKey a;
  a.name = "alice";
  a.sha256 = hashApiKey("one");
  f.keys = {a};
  ASSERT_EQ(writeKeyFile(path, f), std::nullopt);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  KeyFile back;
  ASSERT_EQ(readKeyFile(path, back), std::nullopt);
  ASSERT_EQ(back.keys.size(), 1u);
  EXPECT_EQ(back.keys[0].sha256, a.sha256);
}

TEST(ApiKeys, EveryMistakeIsRefusedWithItsLine) {
  auto error = [](const std::string& text) {
    KeyFile f;
    auto err = parseKeyFile(text, f);
    return err.value_or("");
  };
  std::string ok = "[[key]]\nname = \"a\"\nsha256 = \"" + kHash + "\"\n";
  EXPECT_EQ(error(ok), "");
  EXPECT_NE(error(ok + "rpm = 3\n").find("unknown field"), std::string::npos);
  EXPECT_NE(error(ok + "requests_per_minute = -1\n").find("whole number"), std::string::npos);
  EXPECT_NE(error(ok + "requests_per_minute = 1.5\n").find("whole number"), std::string::npos);
  EXPECT_NE(error(ok + "models = \"demo\"\n").find("array"), std::string::npos);
  EXPECT_NE(error(ok + ok).find("two keys are named 'a'"), std::string::npos);
  EXPECT_NE(error("[[key]]\nname = \"a\"\nsha256 = \"" + kHash.substr(1) + "\"\n").find("64"),
            std::string::npos);
  EXPECT_NE(error("[[key]]\nname = \"a b\"\nsha256 = \"" + kHash + "\"\n").find("name must"),
            std::string::npos);
  EXPECT_NE(error("[[key]]\nsha256 = \"" + kHash + "\"\n").find("name must"), std::string::npos);
  std::string other = "[[key]]\nname = \"b\"\nsha256 = \"" + kHash + "\"\n";
  EXPECT_NE(error(ok + other).find("repeats a hash"), std::string::npos);
  EXPECT_NE(error("[keys]\n").find("unknown table"), std::string::npos);
  EXPECT_NE(error("[[key]\n").find("line 1"), std::string::npos);
  EXPECT_NE(error(ok + "\n\nconcurrent = \"x\"\n").find("(line 6)"), std::string::npos);
}

TEST(ApiKeys, TheRingFindsAKeyByWhatIsPresentedAndNothingElse) {
  KeyFile f;
  ApiKey a;
  a.name = "alice";
  a.sha256 = hashApiKey("sk-sb-right");
  a.models = {"demo"};
  f.keys = {a};
  KeyRing ring(f);
  auto k = ring.find("sk-sb-right");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "alice");
  EXPECT_TRUE(k->allows("demo"));
  EXPECT_FALSE(k->allows("other"));
  EXPECT_EQ(ring.find("sk-sb-wrong"), nullptr);
  EXPECT_EQ(ring.find(""), nullptr);
  EXPECT_EQ(ring.find(a.sha256), nullptr);  // the stored hash is not a key
  EXPECT_FALSE(ring.anyLimited());
}

}  // namespace
}  // namespace sb::auth
