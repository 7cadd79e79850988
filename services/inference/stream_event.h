#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sb::inference {

// One SSE event of an OpenAI-compatible chat completion stream, read: the `data:` of a chunk
// (`choices[0].delta.content`, `finish_reason`, `usage`), `[DONE]`, or an error object. Pure
// and non-throwing, so it is fuzzed apart from the HTTP client.
struct StreamEvent {
  enum class Kind : uint8_t {
    kDone,   // data: [DONE]
    kChunk,  // a chunk; every field below is optional
    kError,  // an error object in the stream
    kBad,    // not a JSON object
  };
  Kind kind = Kind::kChunk;
  std::string text;           // delta content of the first choice ("" if none)
  std::string finish_reason;  // "" if none
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
};

StreamEvent parseStreamEvent(std::string_view data);

}  // namespace sb::inference
