// POST /v1/embeddings at the edge: the request check and the answer in OpenAI's shape.
#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "embeddings_request.h"
#include "embeddings_response.h"

namespace sb::edge {
namespace {

using json = nlohmann::json;

std::optional<HttpError> parse(const std::string& body, EmbeddingsRequest& out,
                               EmbeddingsLimits limits = {}) {
  return parseEmbeddingsRequest("application/json", body, limits, out);
}

TEST(EmbeddingsRequest, TakesAStringOrAnArrayOfStrings) {
  EmbeddingsRequest one;
  ASSERT_FALSE(parse(R"({"model":"m","input":"hello","user":"u1"})", one));
  EXPECT_EQ(one.inputs, (std::vector<std::string>{"hello"}));
  EXPECT_FALSE(one.base64);
  EmbeddingsRequest many;
  ASSERT_FALSE(
      parse(R"({"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":64})", many));
  EXPECT_EQ(many.inputs, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(many.base64);
  EXPECT_EQ(many.dimensions, 64u);
}

TEST(EmbeddingsRequest, RefusesWhatOpenAiRefusesWithTheParameterNamed) {
  struct Case {
    const char* body;
    const char* param;
    const char* code;
  };
  for (const Case& c : {
           Case{R"({"input":"x"})", "model", "invalid_request"},
           Case{R"({"model":"m"})", "input", "invalid_request"},
           Case{R"({"model":"m","input":""})", "input", "invalid_request"},
           Case{R"({"model":"m","input":[]})", "input", "invalid_request"},
           Case{R"({"model":"m","input":["ok",""]})", "input", "invalid_request"},
           Case{R"({"model":"m","input":[1,2,3]})", "input", "token_ids_not_supported"},
           Case{R"({"model":"m","input":[[1,2],[3]]})", "input", "token_ids_not_supported"},
           Case{R"({"model":"m","input":{"a":1}})", "input", "invalid_request"},
           Case{R"({"model":"m","input":"x","encoding_format":"int8"})", "encoding_format",
                "invalid_request"},
           Case{R"({"model":"m","input":"x","dimensions":0})", "dimensions", "invalid_request"},
           Case{R"({"model":"m","input":"x","dimensions":-3})", "dimensions", "invalid_request"},
       }) {
    EmbeddingsRequest r;
    auto err = parse(c.body, r);
    ASSERT_TRUE(err) << c.body;
    EXPECT_EQ(err->status, 400) << c.body;
    EXPECT_EQ(err->param, c.param) << c.body;
    EXPECT_EQ(err->code, c.code) << c.body;
  }
  EmbeddingsRequest r;
  EmbeddingsLimits small;
  small.max_inputs = 2;
  small.max_text_bytes = 4;
  EXPECT_TRUE(parse(R"({"model":"m","input":["a","b","c"]})", r, small));
  EXPECT_TRUE(parse(R"({"model":"m","input":"12345"})", r, small));
  EXPECT_EQ(parseEmbeddingsRequest("text/plain", R"({"model":"m","input":"x"})", {}, r)->status,
            415);
}

std::string reply(const std::vector<std::vector<float>>& vectors, uint64_t tokens) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack("vectors"), pk.pack_array(static_cast<uint32_t>(vectors.size()));
  for (const auto& v : vectors) {
    pk.pack_bin(static_cast<uint32_t>(v.size() * 4));
    pk.pack_bin_body(reinterpret_cast<const char*>(v.data()), static_cast<uint32_t>(v.size() * 4));
  }
  pk.pack("usage"), pk.pack_map(1), pk.pack("prompt_tokens"), pk.pack(tokens);
  return {buf.data(), buf.size()};
}

TEST(EmbeddingsResponse, FloatsAndBase64InOpenAisShape) {
  std::string body = reply({{1.0f, -2.0f}, {0.1f, 3e-7f}}, 5);
  std::string out;
  EmbeddingsSummary s;
  ASSERT_TRUE(renderEmbeddings(body, 2, false, "m", out, s).ok());
  json j = json::parse(out);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["usage"], (json{{"prompt_tokens", 5}, {"total_tokens", 5}}));
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_EQ(j["data"][0]["object"], "embedding");
  EXPECT_EQ(j["data"][0]["embedding"], (json{1.0, -2.0}));
  // The shortest text that reads back as the same float32.
  EXPECT_EQ(static_cast<float>(j["data"][1]["embedding"][0].get<double>()), 0.1f);
  EXPECT_NE(out.find("0.1,3e-07"), std::string::npos) << out;
  ASSERT_TRUE(renderEmbeddings(body, 2, true, "m", out, s).ok());
  j = json::parse(out);
  // 1.0f, -2.0f as float32 little-endian: 00 00 80 3f 00 00 00 c0.
  EXPECT_EQ(j["data"][0]["embedding"], "AACAPwAAAMA=");
  EXPECT_EQ(s.prompt_tokens, 5);
}

TEST(EmbeddingsResponse, AMalformedReplyIsAnInternalError) {
  std::string out;
  EmbeddingsSummary s;
  EXPECT_EQ(renderEmbeddings(reply({{1.0f}}, 1), 2, false, "m", out, s).code,
            proto::ErrorCode::kInternal);
  EXPECT_FALSE(renderEmbeddings("\xc1", 1, false, "m", out, s).ok());
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(1), pk.pack("vectors"), pk.pack_array(1), pk.pack("not bytes");
  EXPECT_FALSE(renderEmbeddings({buf.data(), buf.size()}, 1, false, "m", out, s).ok());
}

}  // namespace
}  // namespace sb::edge
