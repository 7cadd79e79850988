#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sb::inference {

// A chat completion to stream: the OpenAI request body (messages, temperature, max_tokens,
// stop and whatever else the caller passed through); the backend sets model and streaming.
struct ChatRequest {
  std::string model;
  nlohmann::json params = nlohmann::json::object();
};

// How a stream ended. The dispatcher decides retries from `failure` and `delivered`: before
// the first token a kConnect or kRetryable failure may go to another backend; after it, never.
enum class ChatFailure : uint8_t {
  kNone,       // finished (finish_reason set)
  kConnect,    // no connection was made: nothing reached the backend
  kRetryable,  // 5xx, 408 or 429: the backend's fault or its load
  kRefused,    // 401, 403 or 404: a wrong key or a model not served there (the backend's set-up)
  kRejected,   // another 4xx: the request's fault (INVALID_ARGUMENT, not counted as a failure)
  kBroken,     // the stream broke or made no sense after it had started
};

struct ChatUsage {
  int64_t prompt_tokens = -1;  // -1: the backend did not say
  int64_t completion_tokens = -1;
  bool counted = false;  // completion_tokens counted by us (output chunks), not reported
  // The backend's usage object as it sent it (total_tokens, prompt_tokens_details with
  // cached_tokens, completion_tokens_details, ...); null when it sent none.
  nlohmann::json reported;
};

struct ChatOutcome {
  ChatFailure failure = ChatFailure::kNone;
  long http_status = 0;
  std::string message;  // why it failed, for the caller (the backend's own words when it gave any)
  std::string finish_reason;
  ChatUsage usage;
  size_t delivered = 0;     // bytes of output already handed to on_delta
  bool forwarded = false;   // on_delta was called at all (then a retry would repeat output)
  std::string fingerprint;  // system_fingerprint, when the backend sent one
  std::string model;        // the model the backend named, when it did
};

// A piece of the stream: `text` is choice 0's content; `choices` (null for a plain text
// chunk) the whole chunk's choices when it carries more (StreamEvent in stream_event.h).
struct ChatDelta {
  std::string_view text;
  const nlohmann::json* choices = nullptr;
  size_t output_bytes = 0;  // generated output; 0 for a chunk with none (a finish reason)
};

struct ChatEvents {
  std::function<void(const ChatDelta& delta)> on_delta;
  std::function<void(const ChatOutcome&)> on_end;  // exactly once, unless cancelled
};

// One LLM backend (the demo streamer, an OpenAI-compatible server): starts streams, cancels
// them. Implementations run on the process's event loop.
class ChatBackend {
 public:
  using StreamId = uint64_t;
  virtual ~ChatBackend() = default;
  virtual StreamId start(const ChatRequest& request, ChatEvents events) = 0;
  // Stops the stream and the work behind it; on_end is not called.
  virtual void cancel(StreamId id) = 0;
  // An active health check; `done(healthy, why)` runs once, later. The default: always healthy.
  virtual void probe(std::function<void(bool healthy, std::string why)> done) {
    auto healthy = std::move(done);
    healthy(true, "");
  }
};

}  // namespace sb::inference
