#include <gtest/gtest.h>

#include <vector>

#include "sb/http/sse_parser.h"

namespace sb::http {
namespace {

struct Parsed {
  std::vector<SseEvent> events;
  bool ok = true;
};

// Feeds `body` in pieces of `step` bytes (0: all at once).
Parsed parse(std::string_view body, size_t step = 0, size_t max = 1 << 20) {
  SseParser p(max);
  Parsed out;
  auto on = [&](const SseEvent& e) { out.events.push_back(e); };
  if (step == 0) step = body.empty() ? 1 : body.size();
  for (size_t i = 0; i < body.size() && out.ok; i += step) {
    out.ok = p.feed(body.substr(i, step), on);
  }
  return out;
}

TEST(SseParser, ParsesAnOpenAiStream) {
  std::string body =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
      ": keep-alive\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
      "data: [DONE]\n\n";
  for (size_t step : {0, 1, 2, 3, 7}) {
    Parsed p = parse(body, step);
    ASSERT_TRUE(p.ok);
    ASSERT_EQ(p.events.size(), 3u) << "step " << step;
    EXPECT_EQ(p.events[0].data, "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
    EXPECT_EQ(p.events[2].data, "[DONE]");
  }
}

TEST(SseParser, AnyLineEndingSplitAnywhere) {
  // CRLF, LF and CR, mixed; multi-line data joined with LF; fields without a space.
  std::string body = "event: error\r\ndata:first\r\ndata: second\r\n\r\nid: 7\rdata: x\r\r";
  for (size_t step = 1; step <= body.size(); ++step) {
    Parsed p = parse(body, step);
    ASSERT_TRUE(p.ok);
    ASSERT_EQ(p.events.size(), 2u) << "step " << step;
    EXPECT_EQ(p.events[0].event, "error");
    EXPECT_EQ(p.events[0].data, "first\nsecond");
    EXPECT_EQ(p.events[1].event, "");  // the type does not outlive its event
    EXPECT_EQ(p.events[1].data, "x");
    EXPECT_EQ(p.events[1].id, "7");
  }
}

TEST(SseParser, NothingIsDispatchedWithoutDataOrBeforeTheBlankLine) {
  EXPECT_TRUE(parse("event: ping\n\n").events.empty());
  EXPECT_TRUE(parse(": comment\n\n").events.empty());
  EXPECT_TRUE(parse("data: unfinished\n").events.empty());
  Parsed p = parse("data\n\n");  // a field name alone: empty data, still an event
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "");
}

TEST(SseParser, SkipsAByteOrderMarkOnlyAtTheStart) {
  std::string body =
      "\xEF\xBB\xBF"
      "data: a\n\n";
  for (size_t step : {0, 1, 2}) {
    Parsed p = parse(body, step);
    ASSERT_EQ(p.events.size(), 1u);
    EXPECT_EQ(p.events[0].data, "a");
  }
  // Bytes that only begin like a BOM are kept.
  Parsed p = parse(
      "\xEF"
      "data: b\n\n",
      1);
  EXPECT_TRUE(p.events.empty());  // the line "\xEF" "data: b" is an unknown field
}

TEST(SseParser, OversizedLinesAndEventsFailTheStream) {
  std::string line = "data: " + std::string(200, 'x');
  EXPECT_FALSE(parse(line, 1, 100).ok);  // a line that never ends
  EXPECT_FALSE(parse(line + "\n", 0, 100).ok);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "data: " + std::string(20, 'y') + "\n";
  EXPECT_FALSE(parse(many + "\n", 0, 100).ok);  // lines fit, the event does not
  EXPECT_TRUE(parse(many + "\n", 0, 1000).ok);
  SseParser p(10);
  int n = 0;
  EXPECT_FALSE(p.feed(std::string(20, 'z'), [&](const SseEvent&) { ++n; }));
  EXPECT_FALSE(p.error().empty());
  EXPECT_FALSE(p.feed("data: a\n\n", [&](const SseEvent&) { ++n; }));  // stays failed
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace sb::http
