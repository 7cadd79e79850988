#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chunk_stream.h"
#include "edge_config.h"
#include "openai_errors.h"
#include "sb/bus/async_client.h"
#include "sb/compose/chat_turn.h"
#include "sb/compose/completion.h"
#include "sb/http/http_server.h"

namespace sb::edge {

// What the access log says about a finished request.
struct CallSummary {
  std::string model = "-";
  int64_t prompt_tokens = -1, completion_tokens = -1;
  Millis first_token{-1};
};

// One POST /v1/chat/completions, from the checked request to the last byte: through the bus
// (a stateless infer chat, or a session turn with X-Session-Id), answered as OpenAI does,
// streamed (SSE) or whole. The client leaving cancels the bus request. `done` runs once at
// the end (then the call may be destroyed).
class ChatCall {
 public:
  struct Request {
    std::string model;
    nlohmann::json messages;
    nlohmann::json params;  // everything else, passed to the backend untouched
    bool stream = false;
    bool include_usage = false;
    std::string session;  // X-Session-Id, or ""
  };
  ChatCall(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options, http::ExchangePtr ex,
           http::Headers headers, const std::string& request_id, Request request,
           std::function<void(const CallSummary&)> done);
  ~ChatCall();
  ChatCall(const ChatCall&) = delete;
  ChatCall& operator=(const ChatCall&) = delete;

  void start();

 private:
  void onChunk(const Incoming& chunk);
  void onReply(const nlohmann::json& reply);
  void onError(const proto::Status& status);
  void startStream();
  void finish();
  void cancelBus();

  EventLoop& loop_;
  AsyncClient& bus_;
  const EdgeOptions& options_;
  http::ExchangePtr ex_;
  http::Headers headers_;  // sent with the answer (request id, CORS)
  std::string id_;         // chatcmpl-...
  Request req_;
  std::function<void(const CallSummary&)> done_;
  int64_t created_ = 0;
  ChunkStream chunks_;
  CompletionBuilder completion_;
  std::unique_ptr<ChatTurn> turn_;
  uint64_t bus_id_ = 0;
  bool streaming_ = false, finished_ = false;
  CallSummary summary_;
  LoopHandle keepalive_;
};

}  // namespace sb::edge
