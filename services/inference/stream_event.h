#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sb::inference {

// One SSE event of an OpenAI-compatible chat completion stream, read: the `data:` of a chunk,
// `[DONE]`, or an error object. Pure and non-throwing, so it is fuzzed apart from the HTTP
// client.
//
// A chunk is *plain* when it is one choice, index 0, whose delta holds only `content` (and
// perhaps `role`), with no logprobs and no finish reason: the common token, carried as `text`
// alone. Anything else (tool calls, reasoning, refusal, logprobs, several choices, a finish
// reason) is *rich*: `choices` then holds every choice as the backend sent it (`index`,
// `delta`, `logprobs`, `finish_reason`; other keys dropped), so nothing is lost on the way.
struct StreamEvent {
  enum class Kind : uint8_t {
    kDone,   // data: [DONE]
    kChunk,  // a chunk; every field below is optional
    kError,  // an error object in the stream
    kBad,    // not a JSON object
  };
  Kind kind = Kind::kChunk;
  std::string text;                // delta content of choice 0 ("" if none)
  nlohmann::json choices;          // null for a plain chunk; else an array (see above)
  size_t output_bytes = 0;         // generated output: content, reasoning, tool calls, refusal
  std::string finish_reason;       // of choice 0; "" if none
  nlohmann::json usage;            // the backend's usage object, as sent; null if none
  std::string system_fingerprint;  // "" if none
  std::string model;               // the model the backend names; "" if none
};

StreamEvent parseStreamEvent(std::string_view data);

}  // namespace sb::inference
