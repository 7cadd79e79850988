#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "chat_backend.h"
#include "sb/core/event_loop.h"

namespace sb::inference {

struct DemoOptions {
  Millis first_token{200};           // time to first token
  double tokens_per_second = 50;     // then one token every 1/rate
  uint32_t default_max_tokens = 64;  // when the request gives no max_tokens
  uint32_t max_tokens_cap = 4096;    // the most one request may ask for
};

// A stand-in for a model, for tests, benchmarks and the out-of-the-box run: streams
// deterministic words derived from the request (the same request, the same text) at a
// configured time to first token and rate, on the event loop's timers. It knows nothing.
class DemoBackend : public ChatBackend {
 public:
  DemoBackend(EventLoop& loop, DemoOptions options);
  ~DemoBackend() override;

  StreamId start(const ChatRequest& request, ChatEvents events) override;
  void cancel(StreamId id) override;

 private:
  struct Stream;
  void tick(StreamId id);

  EventLoop& loop_;
  DemoOptions options_;
  std::unordered_map<StreamId, std::unique_ptr<Stream>> streams_;
  StreamId next_id_ = 1;
};

}  // namespace sb::inference
