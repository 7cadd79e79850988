// A whole chat turn composed over the bus (sbctl chat): history from the session service,
// the reply streamed from an inference worker, both saved in one append. Needs Redis.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>

#include "dispatch.h"
#include "sb/core/json_body.h"
#include "session_bus.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// sbctl chat: the conversation lives in the session service, so a second turn served by
// another dispatch process continues it (the first process is drained away in between).
TEST(ChatTurn, SbctlChatContinuesAConversationOnAnotherDispatchProcess) {
  RedisServer redis;
  SessionBus sb({"--redis", redis.url(), "--log-level", "warn"});
  Bus& bus = sb.bus();
  std::vector<std::string> demo{"--demo-first-token-ms", "0", "--demo-tokens-per-second", "1000",
                                "--demo-max-tokens",     "6"};
  std::map<std::string, Process> dispatch;
  dispatch.emplace("infer-a", startDispatch(bus, "infer-a", demo));
  dispatch.emplace("infer-b", startDispatch(bus, "infer-b", demo));
  auto sbctl = [&](const std::string& text) {
    Process p = Process::start(
        "sbctl", {"--router", bus.frontend(), "chat", "--session", "conv", text}, {}, false);
    auto code = p.awaitExit(20s);
    EXPECT_EQ(code.value_or(-1), 0) << p.log();
    std::string out = p.log();
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  auto servedBy = [&]() -> std::string {
    json status = bus.status();  // kept alive for the loop
    for (const auto& w : status["workers"]) {
      if (w["service"] == "infer" && w["dispatched"].get<int>() > 0)
        return w["name"].get<std::string>();
    }
    return "";
  };
  std::string first = sbctl("hello");
  ASSERT_FALSE(first.empty());
  std::string turn1_worker = servedBy();
  ASSERT_FALSE(turn1_worker.empty());
  // Drain the process that served the first turn: the second must land on the other one.
  Process& gone = dispatch.at(turn1_worker);
  gone.signal(SIGTERM);
  ASSERT_EQ(gone.awaitExit(10s).value_or(-1), 0);
  ASSERT_TRUE(waitUntil([&] { return !bus.hasWorker(turn1_worker); }, 5s));
  std::string second = sbctl("and then?");
  ASSERT_FALSE(second.empty());
  EXPECT_NE(servedBy(), turn1_worker);
  // The session holds the whole conversation, in order.
  auto g = sb.call("get", {{"id", "conv"}});
  ASSERT_TRUE(g.status.ok()) << g.status.message;
  ASSERT_EQ(g.body["messages"].size(), 4u) << g.body.dump();
  json history = json::array();
  for (const auto& m : g.body["messages"]) history.push_back(m);
  EXPECT_EQ(history[0], (json{{"role", "user"}, {"content", "hello"}}));
  EXPECT_EQ(history[1], (json{{"role", "assistant"}, {"content", first}}));
  EXPECT_EQ(history[2], (json{{"role", "user"}, {"content", "and then?"}}));
  EXPECT_EQ(history[3], (json{{"role", "assistant"}, {"content", second}}));
  // The second turn saw the first as context: the demo's text is a function of the messages.
  history.erase(history.end() - 1);
  auto client = bus.client();
  auto again = client->call("infer", "chat", packJson({{"messages", history}}), {});
  ASSERT_TRUE(again.status.ok()) << again.status.message;
  EXPECT_EQ(chatText(again), second);
}

}  // namespace
}  // namespace sb::test
