#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "chat_backend.h"
#include "sb/core/event_loop.h"
#include "sb/http/http_client.h"
#include "sb/http/sse_parser.h"

namespace sb::inference {

struct OpenAiOptions {
  std::string
      base_url;         // "http://host:8000" or "http://host:8000/v1": /v1/chat/completions follows
  std::string api_key;  // sent as a Bearer token when set; never logged
  Millis connect_timeout{2000};
  Millis probe_timeout{5000};
  // After `data: [DONE]`, how long the rest of the response (the chunked terminator) may take
  // before the connection is closed instead of kept for the next request.
  Millis drain_timeout{2000};
  size_t max_error_body = size_t{64} << 10;  // of a non-200 answer, kept for its message
  size_t max_event_bytes = 1 << 20;          // one SSE event
  std::string default_model{};  // sent when a request names none (servers such as vLLM want one)
};

// Any OpenAI-compatible server (vLLM, TGI, Ollama, llama.cpp server, OpenAI):
// POST {base}/v1/chat/completions with stream: true and stream_options.include_usage, the SSE
// answer parsed as it arrives into text deltas, finish reason and usage. Non-200 answers and
// broken streams end with a ChatFailure the dispatcher can act on.
class OpenAiBackend : public ChatBackend {
 public:
  OpenAiBackend(EventLoop& loop, http::HttpClient& http, OpenAiOptions options);
  ~OpenAiBackend() override;

  StreamId start(const ChatRequest& request, ChatEvents events) override;
  void cancel(StreamId id) override;
  // GET {base}/v1/models: healthy on a 200 within the probe timeout.
  void probe(std::function<void(bool healthy, std::string why)> done) override;

 private:
  struct Stream;
  void onData(StreamId id, long status, std::string_view bytes);
  void onDone(StreamId id, const http::Result& result);
  void onEvent(StreamId id, Stream& s, const http::SseEvent& event);
  // Ends the stream: on_end runs after the current callbacks return. Its transfer is
  // cancelled, or with `drain` (a finished answer) read to its end so the connection is kept.
  void end(StreamId id, ChatOutcome outcome, bool drain = false);

  struct Probe;

  EventLoop& loop_;
  http::HttpClient& http_;
  OpenAiOptions options_;
  // Every transfer we start is in one of these, and is cancelled with us: the HTTP client then
  // never calls back into a backend that is gone.
  std::unordered_map<StreamId, std::unique_ptr<Stream>> streams_;
  std::unordered_map<uint64_t, std::unique_ptr<Probe>> probes_;
  StreamId next_id_ = 1;
  uint64_t next_probe_ = 1;
};

}  // namespace sb::inference
