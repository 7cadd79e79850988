#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace sb::edge {

// Turns an `infer` stream (PROTOCOL.md 6.2: chunk bodies, then the reply) into OpenAI's
// chat.completion.chunk events: `id`, `object`, `created`, `model`, `choices[].delta` (the
// first delta of each choice carries `role: assistant`), `logprobs`, `finish_reason`;
// `usage: null` on every chunk when the client asked for usage, and then one last chunk with
// empty `choices` and the usage. Pure: each call returns the SSE text to send.
class ChunkStream {
 public:
  ChunkStream(std::string id, int64_t created, std::string model, bool include_usage);

  // The SSE event(s) for one bus chunk body ("" when it carries nothing to send).
  std::string chunk(const nlohmann::json& body);
  // The final events for the reply: a finish chunk for every choice not finished yet, the
  // usage chunk when asked for, then `data: [DONE]`.
  std::string finish(const nlohmann::json& reply);
  // An error after the stream started: a data event with an `error` object (the SDKs raise
  // it), then the stream ends.
  static std::string error(const nlohmann::json& error_body);

 private:
  std::string event(nlohmann::json choices, const nlohmann::json* usage = nullptr);
  std::string plainEvent(const std::string& text);
  nlohmann::json choice(int64_t index, nlohmann::json delta, const nlohmann::json& logprobs,
                        const nlohmann::json& finish_reason);

  std::string id_, model_;
  int64_t created_;
  bool include_usage_;
  std::string fingerprint_;
  std::set<int64_t> started_, finished_;  // choices that had their role / finish reason
  std::string plain_head_, plain_tail_;   // plainEvent's fixed parts, made on first use
};

}  // namespace sb::edge
