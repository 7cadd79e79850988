#include "openai_embed_backend.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "sb/http/openai_api.h"

namespace sb::embedding {

using json = nlohmann::json;
using proto::ErrorCode;
using proto::Status;

struct OpenAiEmbedBackend::Call {
  EmbedBatch batch;
  Done done;
  http::HttpClient::TransferId transfer = 0;
  std::string body;
  long status = 0;
  bool too_large = false;
  LoopHandle finish;  // delivers on the next round: done never runs inside libcurl's callback
};

namespace {

EmbedResult failed(ErrorCode code, std::string message) {
  EmbedResult r;
  r.status = Status::error(code, std::move(message));
  return r;
}

}  // namespace

EmbedResult parseEmbeddingsAnswer(const std::string& body, const EmbedBatch& batch) {
  json j = json::parse(body, nullptr, false);
  auto bad = [](const std::string& why) {
    return failed(ErrorCode::kUnavailable, "backend answer: " + why);
  };
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) return bad("no data array");
  const json& data = j["data"];
  if (data.size() != batch.texts.size())
    return bad(std::to_string(data.size()) + " vectors for " + std::to_string(batch.texts.size()) +
               " inputs");
  EmbedResult r;
  r.vectors.resize(batch.texts.size());
  std::vector<bool> seen(batch.texts.size(), false);
  size_t dim = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const json& item = data[i];
    if (!item.is_object()) return bad("an item is not an object");
    size_t index = i;
    if (item.contains("index")) {
      if (!item["index"].is_number_unsigned() || item["index"].get<uint64_t>() >= data.size())
        return bad("an index is out of range");
      index = item["index"].get<size_t>();
    }
    if (seen[index]) return bad("index " + std::to_string(index) + " twice");
    seen[index] = true;
    const json* emb = item.contains("embedding") ? &item["embedding"] : nullptr;
    if (!emb || !emb->is_array() || emb->empty()) return bad("an embedding is not a list");
    if (dim == 0) dim = emb->size();
    if (emb->size() != dim) return bad("vectors of different dimensions");
    auto& values = r.vectors[index].values;
    values.reserve(dim);
    for (const json& x : *emb) {
      if (!x.is_number()) return bad("a value is not a number");
      auto f = static_cast<float>(x.get<double>());
      if (!std::isfinite(f)) return bad("a value is not finite");
      values.push_back(f);
    }
  }
  if (batch.dimensions && dim != batch.dimensions)
    return bad(std::to_string(dim) + " dimensions where " + std::to_string(batch.dimensions) +
               " were asked for (does the model take 'dimensions'?)");
  // Tokens: the call's total shared out by length; each text at least 1.
  uint64_t total = 0;
  if (j.contains("usage") && j["usage"].is_object() && j["usage"].contains("prompt_tokens") &&
      j["usage"]["prompt_tokens"].is_number_unsigned())
    total = j["usage"]["prompt_tokens"].get<uint64_t>();
  size_t bytes = 0;
  for (const auto& t : batch.texts) bytes += t.size();
  for (size_t i = 0; i < r.vectors.size(); ++i) {
    double share = bytes ? static_cast<double>(total) * static_cast<double>(batch.texts[i].size()) /
                               static_cast<double>(bytes)
                         : 0;
    r.vectors[i].tokens = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(share)));
  }
  return r;
}

OpenAiEmbedBackend::OpenAiEmbedBackend(EventLoop& loop, http::HttpClient& http,
                                       OpenAiEmbedOptions options)
    : loop_(loop), http_(http), options_(std::move(options)) {
  options_.base_url = http::openAiApiRoot(std::move(options_.base_url));
}

OpenAiEmbedBackend::~OpenAiEmbedBackend() {
  for (auto& [id, c] : calls_) {
    if (c->transfer) http_.cancel(c->transfer);
  }
}

EmbedBackend::CallId OpenAiEmbedBackend::embed(const EmbedBatch& batch, Done done) {
  CallId id = next_++;
  auto c = std::make_unique<Call>();
  c->batch = batch;
  c->done = std::move(done);
  json body = {{"model", batch.model}, {"input", batch.texts}, {"encoding_format", "float"}};
  if (batch.dimensions) body["dimensions"] = batch.dimensions;
  http::Request r = http::openAiPost(options_.base_url, "/v1/embeddings", options_.api_key,
                                     body.dump(-1, ' ', false, json::error_handler_t::replace),
                                     options_.connect_timeout);
  Call* raw = c.get();
  calls_.emplace(id, std::move(c));
  raw->transfer = http_.start(
      std::move(r),
      [this, id](long status, std::string_view bytes) {
        auto it = calls_.find(id);
        if (it == calls_.end()) return;
        Call& call = *it->second;
        call.status = status;
        if (call.body.size() + bytes.size() > options_.max_response) {
          call.too_large = true;
          return;
        }
        call.body.append(bytes);
      },
      [this, id](const http::Result& result) { finish(id, result); });
  return id;
}

void OpenAiEmbedBackend::cancel(CallId id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  if (it->second->transfer) http_.cancel(it->second->transfer);
  calls_.erase(it);
}

void OpenAiEmbedBackend::finish(CallId id, const http::Result& result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& c = *it->second;
  c.transfer = 0;
  EmbedResult r;
  if (!result.ok) {
    r = failed(ErrorCode::kUnavailable, "backend unreachable: " + result.error);
  } else if (c.too_large) {
    r = failed(ErrorCode::kUnavailable, "backend answer larger than the limit");
  } else if (result.status != 200) {
    long s = result.status;
    bool retryable = s == 408 || s == 429 || s >= 500 || s == 401 || s == 403 || s == 404;
    r = failed(retryable ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
               http::openAiErrorMessage(s, c.body));
  } else {
    r = parseEmbeddingsAnswer(c.body, c.batch);
  }
  c.finish = loop_.after(std::chrono::nanoseconds(0), [this, id, r = std::move(r)]() mutable {
    auto node = calls_.extract(id);
    if (!node.empty()) node.mapped()->done(std::move(r));
  });
}

}  // namespace sb::embedding
