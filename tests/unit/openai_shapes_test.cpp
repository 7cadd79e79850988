// The pure pieces that give the edge OpenAI's shapes: the chunk stream (bus chunks -> SSE
// chat.completion.chunk events) and the completion builder (a stream -> one message), and
// the stream-event reader of the dispatch worker that feeds them.
#include <gtest/gtest.h>

#include "chunk_stream.h"
#include "openai_errors.h"
#include "sb/compose/completion.h"
#include "stream_event.h"

namespace sb {
namespace {

using json = nlohmann::json;

std::vector<json> events(const std::string& sse) {
  std::vector<json> out;
  for (size_t at = 0; (at = sse.find("data: ", at)) != std::string::npos;) {
    size_t end = sse.find("\n\n", at);
    std::string data = sse.substr(at + 6, end - at - 6);
    out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    at = end;
  }
  return out;
}

TEST(ChunkStream, FirstDeltaHasTheRoleUsageChunkComesLastThenDone) {
  edge::ChunkStream s("chatcmpl-x", 42, "m", true);
  auto a = events(s.chunk({{"delta", "Hel"}}));
  auto b = events(s.chunk({{"delta", "lo"}}));
  auto end = events(
      s.finish({{"finish_reason", "length"},
                {"usage", {{"prompt_tokens", 2}, {"completion_tokens", 2}, {"counted", true}}}}));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["choices"][0]["delta"], json({{"role", "assistant"}, {"content", "Hel"}}));
  EXPECT_EQ(b[0]["choices"][0]["delta"], json({{"content", "lo"}}));
  EXPECT_TRUE(a[0]["usage"].is_null() && a[0].contains("usage"));
  EXPECT_EQ(a[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(a[0]["created"], 42);
  ASSERT_EQ(end.size(), 3u);
  EXPECT_EQ(end[0]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(end[1]["choices"], json::array());
  EXPECT_EQ(end[1]["usage"],
            json({{"prompt_tokens", 2}, {"completion_tokens", 2}, {"total_tokens", 4}}));
  EXPECT_EQ(end[2], "[DONE]");
}

// The per-token fast path writes the bytes the general path writes for the same piece.
TEST(ChunkStream, PlainTokensAreTheBytesOfTheGeneralPath) {
  for (bool usage : {false, true}) {
    for (const std::string& text :
         std::vector<std::string>{"lo", "say \"hi\"\n\\", "\u00e9\u4e2d\U0001F600",
                                  "bad \xff\xfe utf-8", std::string("nul\0in", 6)}) {
      edge::ChunkStream fast("chatcmpl-\"q\"", 7, "m\xff", usage);
      edge::ChunkStream general("chatcmpl-\"q\"", 7, "m\xff", usage);
      fast.chunk({{"delta", "first"}});
      general.chunk({{"delta", "first"}});
      std::string a = fast.chunk({{"delta", text}});
      std::string b =
          general.chunk({{"choices", {{{"index", 0}, {"delta", {{"content", text}}}}}}});
      EXPECT_EQ(a, b) << "usage " << usage;
      EXPECT_EQ(events(a)[0]["choices"][0]["delta"].size(), 1u);  // no role after the first
    }
  }
}

TEST(ChunkStream, ChoicesKeepTheirIndexAndAreFinishedOnce) {
  edge::ChunkStream s("c", 1, "m", false);
  json two = {{"delta", "a"},
              {"choices",
               {{{"index", 0}, {"delta", {{"content", "a"}}}},
                {{"index", 1}, {"delta", {{"content", "b"}}}, {"finish_reason", "stop"}}}}};
  auto first = events(s.chunk(two));
  EXPECT_EQ(first[0]["choices"][1]["index"], 1);
  EXPECT_EQ(first[0]["choices"][1]["delta"]["role"], "assistant");
  EXPECT_FALSE(first[0].contains("usage"));  // not asked for
  auto end = events(s.finish({{"finish_reason", "stop"}}));
  ASSERT_EQ(end.size(), 2u);
  ASSERT_EQ(end[0]["choices"].size(), 1u);  // choice 1 had finished already
  EXPECT_EQ(end[0]["choices"][0]["index"], 0);
}

TEST(CompletionBuilder, JoinsToolCallsReasoningAndChoices) {
  CompletionBuilder b;
  b.add({{"delta", ""},
         {"choices",
          {{{"index", 0},
            {"delta",
             {{"reasoning_content", "hmm "},
              {"tool_calls",
               {{{"index", 0},
                 {"id", "call_1"},
                 {"type", "function"},
                 {"function", {{"name", "f"}, {"arguments", "{\"a\""}}}}}}}}}}}});
  b.add({{"delta", ""},
         {"choices",
          {{{"index", 0},
            {"delta", {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", ":1}"}}}}}}}},
            {"finish_reason", "tool_calls"}},
           {{"index", 1}, {"delta", {{"content", "other"}}}}}}});
  json choices = b.choices({{"finish_reason", "tool_calls"}});
  ASSERT_EQ(choices.size(), 2u);
  json m = choices[0]["message"];
  EXPECT_TRUE(m["content"].is_null());
  EXPECT_EQ(m["reasoning_content"], "hmm ");
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"a", 1}}));
  EXPECT_EQ(choices[0]["finish_reason"], "tool_calls");
  EXPECT_EQ(choices[1]["message"]["content"], "other");
  EXPECT_EQ(choices[1]["finish_reason"], "stop");
}

TEST(StreamEvent, PlainTextStaysPlainAnythingElseKeepsItsChoices) {
  auto plain = inference::parseStreamEvent(
      R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]})");
  EXPECT_EQ(plain.text, "hi");
  EXPECT_TRUE(plain.choices.is_null());
  EXPECT_EQ(plain.output_bytes, 2u);
  auto reasoning = inference::parseStreamEvent(
      R"({"choices":[{"index":0,"delta":{"reasoning_content":"think"}}]})");
  EXPECT_FALSE(reasoning.choices.is_null());
  EXPECT_EQ(reasoning.output_bytes, 5u);
  auto finish = inference::parseStreamEvent(
      R"({"system_fingerprint":"fp","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":1}}})");
  EXPECT_EQ(finish.finish_reason, "stop");
  EXPECT_EQ(finish.output_bytes, 0u);
  EXPECT_EQ(finish.system_fingerprint, "fp");
  EXPECT_EQ(finish.usage["prompt_tokens_details"]["cached_tokens"], 1);
}

TEST(OpenAiErrors, BusCodesMapToTheStatusesTheSdksExpect) {
  using proto::ErrorCode;
  using proto::Status;
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kInvalidArgument, "x")).status, 400);
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kResourceExhausted, "x")).status, 429);
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kUnavailable, "x")).status, 503);
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kDeadlineExceeded, "x")).status, 504);
  // The bus refusing the edge itself is the server's problem, not the caller's key.
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kPermissionDenied, "x")).status, 503);
  EXPECT_EQ(edge::fromStatus(Status::error(ErrorCode::kUnauthenticated, "x")).status, 503);
  json body = edge::modelNotFound("m").body();
  EXPECT_EQ(body["error"]["code"], "model_not_found");
  EXPECT_EQ(body["error"]["param"], "model");
}

}  // namespace
}  // namespace sb
