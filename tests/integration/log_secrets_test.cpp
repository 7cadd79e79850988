// No message text, key, token or password in any log at any level: a whole suite at trace
// level (router, session and embedding cache on Redis users with passwords, an inference
// worker calling an OpenAI-speaking backend with an API key, an edge with an API key and
// limits), one session chat turn, one streamed completion and one embeddings request, each
// with text found nowhere else; then every process's log is searched for each secret.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bus.h"
#include "fake_embedder.h"
#include "fake_http.h"
#include "openai_wire.h"
#include "redis.h"
#include "sb/auth/api_keys.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

// POST with curl; the response body.
std::string post(const std::string& url, const std::string& key, const std::string& body,
                 const std::string& session = "") {
  std::vector<std::string> args = {
      "-s", "-H", "Authorization: Bearer " + key, "-H", "Content-Type: application/json",
      "-d", body};
  if (!session.empty()) args.insert(args.end(), {"-H", "X-Session-Id: " + session});
  args.push_back(url);
  Process p = Process::startSystem("curl", args);
  p.awaitExit(30s);
  return p.log();
}

TEST(LogSecrets, ATraceLevelRunLogsNoTextKeyOrPassword) {
  const std::string question = "sunlit-marmot-7731", answer = "velvet-quasar-5519",
                    embed_text = "amber-lattice-2207", backend_key = "sk-backend-cobalt-4410";
  FakeHttp llm([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write(sseChunk(answer));
    ex.write(sseChunk(" done", "stop"));
    ex.write(sseUsage(5, 2));
    ex.write("data: [DONE]\n\n");
  });
  FakeEmbedder embedder;
  std::string dir = tempDir() + "/log-secrets";
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  std::ifstream acl_in(SB_SOURCE_DIR "/deploy/redis/users.acl");
  std::stringstream acl;
  acl << acl_in.rdbuf();
  std::ofstream(dir + "/users.acl") << acl.str();
  RedisServer redis({"--aclfile", dir + "/users.acl"});
  auto url = [&](const std::string& user, const std::string& pw) {
    return "redis://" + user + ":" + pw + "@127.0.0.1:" + std::to_string(redis.port());
  };
  const std::vector<std::string> trace = {"--log-level", "trace"};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), trace.begin(), trace.end());
    return a;
  };
  Bus bus(trace);
  auto session = Process::start("sb-session", with({"--router", bus.backend(), "--redis",
                                                    url("sb-session", "change-me-session")}));
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  auto cache = Process::start(
      "sb-embedding-cache",
      with({"--router", bus.backend(), "--redis", url("sb-embedding-cache", "change-me-embeddings"),
            "--embed-backend", "kind=openai,url=" + embedder.base() + "/v1"}));
  ASSERT_TRUE(cache.awaitReady(10s)) << cache.log();
  auto infer = Process::start(
      "sb-inference-dispatch",
      with({"--router", bus.backend(), "--llm-backend",
            "kind=openai,url=" + llm.base() + "/v1,models=m,api_key_env=SB_TEST_BACKEND_KEY"}),
      {"SB_TEST_BACKEND_KEY=" + backend_key});
  ASSERT_TRUE(infer.awaitReady(10s)) << infer.log();
  std::string keys = dir + "/keys.toml";
  Process mk = Process::start("sbctl",
                              {"key", "create", "holder", "--api-keys", keys, "--rpm", "100",
                               "--tpm", "100000", "--concurrent", "4"},
                              {}, false);
  ASSERT_EQ(mk.awaitExit(30s), 0) << mk.log();
  std::string key = mk.log().substr(mk.log().find("sk-sb-"), 49);
  auto edge = Process::start(
      "sb-edge", with({"--router", bus.frontend(), "--listen", "127.0.0.1:0", "--api-keys", keys,
                       "--redis", url("sb-edge", "change-me-edge")}));
  auto port = edge.awaitReady(10s);
  ASSERT_TRUE(port.has_value()) << edge.log();
  std::string base = "http://127.0.0.1:" + *port + "/v1";

  std::string chat =
      R"({"model":"m","messages":[{"role":"user","content":")" + question + R"("}]})";
  std::string turn = post(base + "/chat/completions", key, chat, "log-secrets-session");
  EXPECT_NE(turn.find(answer), std::string::npos) << turn << edge.log();
  std::string streamed =
      R"({"model":"m","stream":true,"messages":[{"role":"user","content":")" + question + R"("}]})";
  EXPECT_NE(post(base + "/chat/completions", key, streamed).find(answer), std::string::npos);
  std::string emb =
      post(base + "/embeddings", key, R"({"model":"m","input":")" + embed_text + "\"}");
  EXPECT_NE(emb.find("\"embedding\""), std::string::npos) << emb;
  // The texts did land where they belong (so not finding them in logs means something).
  EXPECT_EQ(embedder.computed(embed_text), 1);

  // Stop everything (what a process logs on its way out counts too).
  for (Process* p : {&edge, &infer, &cache, &session, &bus.router()}) {
    p->signal(SIGTERM);
    p->awaitExit(30s);
  }
  // The requests were logged (an access line each, naming the key's holder).
  EXPECT_NE(edge.log().find("POST /v1/embeddings status=200 key=holder"), std::string::npos)
      << edge.log();
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"the user's text", question},
      {"the model's answer", answer},
      {"the embedded text", embed_text},
      {"the API key", key},
      {"a part of the API key", key.substr(6, 16)},
      {"the API key's hash", auth::hashApiKey(key)},
      {"the backend's API key", backend_key},
      {"a Redis password", "change-me-session"},
      {"a Redis password", "change-me-embeddings"},
      {"a Redis password", "change-me-edge"}};
  for (const Process* p : {&edge, &infer, &cache, &session, &bus.router()}) {
    std::string log = p->log();
    EXPECT_NE(log.find(" info "), std::string::npos) << "no log was kept";
    for (const auto& [what, secret] : secrets) {
      size_t at = log.find(secret);
      EXPECT_EQ(at, std::string::npos)
          << what << " is in a log: ..."
          << log.substr(at == std::string::npos ? 0 : at - std::min<size_t>(at, 200), 400);
    }
  }
}

}  // namespace
}  // namespace sb::test
