#include "chunk_stream.h"

#include "openai_usage.h"

namespace sb::edge {

using json = nlohmann::json;

ChunkStream::ChunkStream(std::string id, int64_t created, std::string model, bool include_usage)
    : id_(std::move(id)),
      model_(std::move(model)),
      created_(created),
      include_usage_(include_usage) {}

json ChunkStream::choice(int64_t index, json delta, const json& logprobs,
                         const json& finish_reason) {
  if (!delta.is_object()) delta = json::object();
  if (started_.insert(index).second && !delta.contains("role")) delta["role"] = "assistant";
  if (finish_reason.is_string()) finished_.insert(index);
  return {{"index", index},
          {"delta", std::move(delta)},
          {"logprobs", logprobs.is_null() ? json(nullptr) : logprobs},
          {"finish_reason", finish_reason.is_string() ? finish_reason : json(nullptr)}};
}

std::string ChunkStream::event(json choices, const json* usage) {
  json c = {{"id", id_},
            {"object", "chat.completion.chunk"},
            {"created", created_},
            {"model", model_},
            {"choices", std::move(choices)}};
  if (!fingerprint_.empty()) c["system_fingerprint"] = fingerprint_;
  if (usage)
    c["usage"] = *usage;
  else if (include_usage_)
    c["usage"] = nullptr;
  return "data: " + c.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

// The hot path, one plain piece of text for choice 0 after its first: the same bytes event()
// writes (nlohmann orders keys), without building a document per token.
std::string ChunkStream::plainEvent(const std::string& text) {
  if (plain_tail_.empty()) {
    plain_head_ = R"(data: {"choices":[{"delta":{"content":)";
    plain_tail_ = R"(},"finish_reason":null,"index":0,"logprobs":null}],"created":)" +
                  std::to_string(created_) + R"(,"id":)" +
                  json(id_).dump(-1, ' ', false, json::error_handler_t::replace) + R"(,"model":)" +
                  json(model_).dump(-1, ' ', false, json::error_handler_t::replace) +
                  R"(,"object":"chat.completion.chunk")" +
                  (include_usage_ ? R"(,"usage":null})" : "}") + "\n\n";
  }
  std::string out;
  std::string quoted = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  out.reserve(plain_head_.size() + quoted.size() + plain_tail_.size());
  out += plain_head_;
  out += quoted;
  out += plain_tail_;
  return out;
}

std::string ChunkStream::chunk(const json& body) {
  if (!body.is_object()) return "";
  auto choices = body.find("choices");
  if (choices != body.end() && choices->is_array()) {
    json out = json::array();
    for (const json& c : *choices) {
      if (!c.is_object()) continue;
      int64_t index =
          c.contains("index") && c["index"].is_number_integer() ? c["index"].get<int64_t>() : 0;
      out.push_back(choice(index, c.value("delta", json::object()), c.value("logprobs", json()),
                           c.value("finish_reason", json())));
    }
    return out.empty() ? "" : event(std::move(out));
  }
  auto delta = body.find("delta");
  if (delta == body.end() || !delta->is_string()) return "";
  if (started_.count(0) && !finished_.count(0) && fingerprint_.empty()) {
    return plainEvent(delta->get_ref<const std::string&>());
  }
  return event(json::array({choice(0, {{"content", *delta}}, json(), json())}));
}

std::string ChunkStream::finish(const json& reply) {
  std::string out;
  json reason = "stop";
  if (reply.is_object()) {
    if (auto f = reply.find("finish_reason"); f != reply.end() && f->is_string() && !f->empty())
      reason = *f;
    if (auto fp = reply.find("system_fingerprint"); fp != reply.end() && fp->is_string())
      fingerprint_ = fp->get<std::string>();
  }
  started_.insert(0);  // an answer with no output still ends its first choice
  json finals = json::array();
  for (int64_t index : started_) {
    if (finished_.count(index)) continue;
    finals.push_back(choice(index, json::object(), json(), index == 0 ? reason : json("stop")));
  }
  if (!finals.empty()) out += event(std::move(finals));
  if (include_usage_) {
    json usage = openAiUsage(reply);
    out += event(json::array(), &usage);
  }
  out += "data: [DONE]\n\n";
  return out;
}

std::string ChunkStream::error(const json& error_body) {
  return "data: " + error_body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace sb::edge
