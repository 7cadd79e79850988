#include "embeddings_response.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstring>
#include <vector>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "sb/proto/body_codec.h"

namespace sb::edge {

using proto::ErrorCode;
using proto::Status;

namespace {

Status bad(const std::string& why) {
  return Status::error(ErrorCode::kInternal, "embedding cache reply: " + why);
}

void appendBase64(std::string& out, const char* data, size_t n) {
  size_t at = out.size();
  out.resize(at + 4 * ((n + 2) / 3) + 1);
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                            reinterpret_cast<const unsigned char*>(data), static_cast<int>(n));
  out.resize(at + static_cast<size_t>(len));
}

void appendFloats(std::string& out, const char* data, size_t n) {
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < n / 4; ++i) {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    auto r = std::to_chars(buf, buf + sizeof(buf), f);
    if (i) out.push_back(',');
    out.append(buf, r.ptr);
  }
  out.push_back(']');
}

}  // namespace

Status renderEmbeddings(std::string_view reply, size_t inputs, bool base64,
                        const std::string& model, std::string& out, EmbeddingsSummary& summary) {
  proto::Limits limits;
  limits.max_body_bytes = reply.size();
  msgpack::object_handle oh;
  if (Status st = proto::decodeBody(reply, limits, oh); !st.ok()) return bad(st.message);
  const msgpack::object& body = oh.get();
  const msgpack::object* vectors = proto::findKey(body, "vectors");
  if (!vectors || vectors->type != msgpack::type::ARRAY || vectors->via.array.size != inputs)
    return bad("not one vector per input");
  const msgpack::object* usage = proto::findKey(body, "usage");
  const msgpack::object* prompt = usage ? proto::findKey(*usage, "prompt_tokens") : nullptr;
  int64_t tokens = prompt && prompt->type == msgpack::type::POSITIVE_INTEGER
                       ? static_cast<int64_t>(prompt->via.u64)
                       : 0;
  out.clear();
  out.reserve(64 + inputs * 64);
  out += R"({"object":"list","data":[)";
  for (uint32_t i = 0; i < vectors->via.array.size; ++i) {
    const msgpack::object& v = vectors->via.array.ptr[i];
    if (v.type != msgpack::type::BIN || v.via.bin.size == 0 || v.via.bin.size % 4 != 0)
      return bad("a vector is not float32 bytes");
    if (i) out.push_back(',');
    out += R"({"object":"embedding","index":)";
    out += std::to_string(i);
    out += R"(,"embedding":)";
    if (base64) {
      out.push_back('"');
      appendBase64(out, v.via.bin.ptr, v.via.bin.size);
      out.push_back('"');
    } else {
      appendFloats(out, v.via.bin.ptr, v.via.bin.size);
    }
    out.push_back('}');
  }
  out += R"(],"model":)";
  out += nlohmann::json(model).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += R"(,"usage":{"prompt_tokens":)";
  out += std::to_string(tokens);
  out += R"(,"total_tokens":)";
  out += std::to_string(tokens);
  out += "}}";
  summary.prompt_tokens = tokens;
  summary.vectors = inputs;
  return {};
}

}  // namespace sb::edge
