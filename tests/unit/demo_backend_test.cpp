#include <gtest/gtest.h>

#include "demo_backend.h"

namespace sb::inference {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct Streamed {
  std::vector<std::string> deltas;
  ChatOutcome outcome;
  bool ended = false;
};

ChatRequest request(const std::string& text, int max_tokens = -1) {
  ChatRequest r{"demo", {{"messages", {{{"role", "user"}, {"content", text}}}}}};
  if (max_tokens >= 0) r.params["max_tokens"] = max_tokens;
  return r;
}

Streamed run(const ChatRequest& req, DemoOptions o = {0ms, 100000, 8, 4096}) {
  EventLoop loop;
  DemoBackend demo(loop, o);
  Streamed s;
  demo.start(req, {[&](const ChatDelta& d) { s.deltas.emplace_back(d.text); },
                   [&](const ChatOutcome& out) {
                     s.outcome = out;
                     s.ended = true;
                   }});
  auto until = SteadyClock::now() + 5s;
  while (!s.ended && SteadyClock::now() < until) loop.runOnce(10ms);
  return s;
}

std::string joined(const Streamed& s) {
  std::string out;
  for (const auto& d : s.deltas) out += d;
  return out;
}

TEST(DemoBackend, StreamsDeterministicTextOfTheAskedLength) {
  Streamed a = run(request("tell me a story", 5));
  ASSERT_TRUE(a.ended);
  EXPECT_EQ(a.deltas.size(), 5u);  // one delta per token
  EXPECT_EQ(a.outcome.failure, ChatFailure::kNone);
  EXPECT_EQ(a.outcome.finish_reason, "length");
  EXPECT_EQ(a.outcome.usage.completion_tokens, 5);
  EXPECT_EQ(a.outcome.usage.prompt_tokens, 4);
  EXPECT_EQ(a.outcome.delivered, joined(a).size());
  EXPECT_EQ(joined(run(request("tell me a story", 5))), joined(a));  // same request, same text
  EXPECT_NE(joined(run(request("something else", 5))), joined(a));
  EXPECT_EQ(run(request("x")).deltas.size(), 8u);  // the default length
}

TEST(DemoBackend, PacesTokensAtTheConfiguredRate) {
  // 5 tokens at 100/s after a 50 ms first token: about 90 ms; never under 50 + 4 × 10 ms.
  auto t0 = SteadyClock::now();
  Streamed s = run(request("pace", 5), {50ms, 100, 8, 4096});
  auto took = SteadyClock::now() - t0;
  ASSERT_TRUE(s.ended);
  EXPECT_GE(took, 90ms);
}

TEST(DemoBackend, CancelStopsTheStreamWithoutEnding) {
  EventLoop loop;
  DemoBackend demo(loop, {0ms, 100000, 50, 4096});
  int deltas = 0;
  bool ended = false;
  ChatBackend::StreamId id = 0;
  id = demo.start(request("cancel me"), {[&](const ChatDelta&) {
                                           if (++deltas == 2) demo.cancel(id);
                                         },
                                         [&](const ChatOutcome&) { ended = true; }});
  for (int i = 0; i < 20; ++i) loop.runOnce(1ms);
  EXPECT_EQ(deltas, 2);
  EXPECT_FALSE(ended);
}

}  // namespace
}  // namespace sb::inference
