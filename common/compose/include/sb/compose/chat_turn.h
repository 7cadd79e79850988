#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sb/bus/async_client.h"
#include "sb/compose/completion.h"

namespace sb {

struct ChatTurnOptions {
  std::string session;    // the session id
  std::string model;      // model / route tag; empty = any
  uint32_t history = 50;  // most recent messages sent to the model as context
  Millis deadline{300000};
};

struct ChatTurnResult {
  proto::Status status;
  nlohmann::json reply;      // the infer reply (finish_reason, usage, backend, ...)
  nlohmann::json assistant;  // the assistant message as stored (content, tool_calls, ...)
  size_t history = 0;        // stored messages sent as context
};

// One chat turn composed over the bus, for the HTTP edge and sbctl: session.get for the
// history (the session is created on first use), infer chat with the history plus this
// turn's messages (each chunk reaches `on_chunk` as it arrives), then one atomic
// session.append of the turn's messages and the assistant's answer, with an operation id so a
// retried append cannot store them twice. A failed inference appends nothing. State lives in
// the session service, so any edge and any dispatch process can serve the next turn.
//
// Runs on the client's event loop. Destroying the turn (or cancel()) cancels the request in
// flight and calls nothing back.
class ChatTurn {
 public:
  struct Events {
    std::function<void(const Incoming& chunk)> on_chunk;
    std::function<void(ChatTurnResult result)> on_done;  // exactly once, unless cancelled
  };
  // `messages`: this turn's messages (an array of maps with `role`); `params`: the rest of
  // the request for the model (temperature, tools, n, ...).
  ChatTurn(AsyncClient& client, ChatTurnOptions options, nlohmann::json messages,
           nlohmann::json params, Events events);
  ~ChatTurn();
  ChatTurn(const ChatTurn&) = delete;
  ChatTurn& operator=(const ChatTurn&) = delete;

  void start();
  void cancel();

 private:
  void getHistory();
  void create();
  void infer(nlohmann::json history);
  void append();
  void finish(proto::Status status);
  CallOptions callOptions() const;

  AsyncClient& client_;
  ChatTurnOptions options_;
  nlohmann::json messages_, params_;
  Events events_;
  CompletionBuilder completion_;
  ChatTurnResult result_;
  uint64_t inflight_ = 0;  // the bus request in flight, 0 when none
};

// The same turn for a command line (sbctl): one user text, run to its end on a loop of its
// own; tokens of choice 0 reach `on_token` as they arrive.
ChatTurnResult runChatTurn(zmq::context_t& context, const std::vector<std::string>& routers,
                           const ChatTurnOptions& options, const std::string& text,
                           const std::function<void(std::string_view)>& on_token,
                           const CurveClientKeys& curve = {});

}  // namespace sb
