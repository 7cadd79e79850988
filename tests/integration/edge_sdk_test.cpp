// The official OpenAI Node SDK (npm `openai`, installed by the test set-up) against a running
// suite: sb-router, sb-session over a real redis-server, sb-inference-dispatch with a scripted
// OpenAI-speaking backend, and sb-edge. The SDK's side of each check is in node/edge_sdk.cjs;
// this side starts everything and checks what the backend and the logs saw.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "dispatch.h"
#include "fake_embedder.h"
#include "fake_http.h"
#include "openai_wire.h"
#include "redis.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// The scripted backend: what it streams depends on the last message's text.
struct ScriptedBackend {
  std::atomic<bool> slow_closed{false};
  std::mutex mu;
  std::vector<json> bodies;

  void serve(FakeHttp::Exchange& ex) {
    json body = json::parse(ex.body, nullptr, false);
    {
      std::lock_guard lock(mu);
      bodies.push_back(body);
    }
    std::string text = body["messages"].back().value("content", "");
    ex.write(kSseHead);
    auto delta = [](json d, json finish = nullptr, int index = 0) {
      return sseEvent({{"choices", {{{"index", index}, {"delta", d}, {"finish_reason", finish}}}}});
    };
    if (text == "tools") {
      json first = {{"index", 0},
                    {"id", "call_1"},
                    {"type", "function"},
                    {"function", {{"name", "weather"}, {"arguments", ""}}}};
      ex.write(delta({{"role", "assistant"}, {"tool_calls", {first}}}));
      for (const char* piece : {"{\"city\": ", "\"Oslo\", \"unit\"", ": \"celsius\"}"}) {
        ex.write(delta({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", piece}}}}}}}));
      }
      ex.write(delta(json::object(), "tool_calls"));
    } else if (text == "think") {
      for (const char* piece : {"Let me ", "think. "})
        ex.write(delta({{"reasoning_content", piece}}));
      ex.write(delta({{"content", "42"}}, "stop"));
    } else if (text == "slow") {
      for (int i = 0; i < 400; ++i) {
        if (!ex.write(delta({{"content", "tick "}}))) break;
        if (ex.awaitClose(50ms)) break;
      }
      slow_closed = ex.awaitClose(100ms) || !ex.write(delta({{"content", "x"}}));
      return;
    } else if (text == "hold") {
      ex.write(delta({{"content", "wait"}}));
      std::this_thread::sleep_for(700ms);  // the backend's pace: holds the only slot
      ex.write(delta({{"content", "ed"}}, "stop"));
    } else if (text == "count") {
      bool reasoning = false;
      for (const json& m : body["messages"]) reasoning |= m.contains("reasoning_content");
      ex.write(delta({{"content", std::to_string(body["messages"].size()) + " messages" +
                                      (reasoning ? " with reasoning" : "")}},
                     "stop"));
    } else if (body.value("n", 1) == 2) {
      ex.write(delta({{"content", "first"}}, "stop", 0));
      ex.write(delta({{"content", "second"}}, "stop", 1));
    } else {
      ex.write(sseChunk("Hello"));
      ex.write(sseChunk(" world", "stop"));
    }
    ex.write(sseEvent({{"choices", json::array()},
                       {"usage",
                        {{"prompt_tokens", 3},
                         {"completion_tokens", 2},
                         {"total_tokens", 5},
                         {"prompt_tokens_details", {{"cached_tokens", 1}}}}}}));
    ex.write("data: [DONE]\n\n");
  }
};

TEST(EdgeSdk, TheOfficialOpenAiSdkAgainstTheSuite) {
  ScriptedBackend script;
  FakeHttp backend([&](FakeHttp::Exchange& ex) { script.serve(ex); });
  RedisServer redis;
  // No queue in the router: with the backend's one slot taken, the next request is 429.
  Bus bus({"--queue-size", "0"});
  auto session = Process::start("sb-session", {"--router", bus.backend(), "--redis", redis.url()});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  auto dispatch = startDispatch(
      bus, "infer",
      {"--llm-backend", "kind=openai,url=" + backend.base() + "/v1,models=m,max_conns=1"});
  auto edge = Process::start("sb-edge", {"--router", bus.frontend(), "--listen", "127.0.0.1:0",
                                         "--retry-after-ms", "1000", "--log-level", "info"});
  auto port = edge.awaitReady(10s);
  ASSERT_TRUE(port.has_value()) << edge.log();
  std::string url = "http://127.0.0.1:" + *port + "/v1";
  auto node = Process::startSystem("env", {"NODE_PATH=" SB_NODE_MODULES, "EDGE_URL=" + url, "node",
                                           SB_NODE_TESTS "/edge_sdk.cjs"});
  auto rc = node.awaitExit(120s);
  std::cout << node.log();
  ASSERT_EQ(rc, 0) << node.log() << "\n--- edge:\n" << edge.log();
  // The abort reached the backend as a closed connection.
  EXPECT_TRUE(script.slow_closed.load());
  std::string log = edge.log();
  EXPECT_NE(log.find("status=429"), std::string::npos) << log;  // the one the SDK retried
  // (the edge notices the abort as the client's connection closing: wait for that event)
  EXPECT_TRUE(waitUntil([&] { return edge.log().find(" client_closed") != std::string::npos; }, 5s))
      << log;
  // Fields the edge does not know pass through to the backend untouched.
  std::lock_guard lock(script.mu);
  bool tools_seen = false;
  for (const auto& b : script.bodies) tools_seen |= b.contains("tools");
  EXPECT_TRUE(tools_seen);
}

TEST(EdgeSdk, EmbeddingsCreateThroughTheCache) {
  FakeEmbedder backend;
  RedisServer redis;
  Bus bus;
  auto cache = Process::start("sb-embedding-cache",
                              {"--router", bus.backend(), "--redis", redis.url(), "--embed-backend",
                               "kind=openai,url=" + backend.base() + "/v1"});
  ASSERT_TRUE(cache.awaitReady(10s)) << cache.log();
  auto edge = Process::start("sb-edge", {"--router", bus.frontend(), "--listen", "127.0.0.1:0"});
  auto port = edge.awaitReady(10s);
  ASSERT_TRUE(port.has_value()) << edge.log();
  std::string url = "http://127.0.0.1:" + *port + "/v1";
  auto node = Process::startSystem("env", {"NODE_PATH=" SB_NODE_MODULES, "EDGE_URL=" + url, "node",
                                           SB_NODE_TESTS "/edge_embeddings.cjs"});
  auto rc = node.awaitExit(60s);
  std::cout << node.log();
  ASSERT_EQ(rc, 0) << node.log() << "\n--- edge:\n"
                   << edge.log() << "\n--- cache:\n"
                   << cache.log();
  // Asked twice (base64, then float), computed once; the array's repeat too.
  EXPECT_EQ(backend.computed("hello embeddings"), 1);
  EXPECT_EQ(backend.computed("first text"), 1);
}

}  // namespace
}  // namespace sb::test
