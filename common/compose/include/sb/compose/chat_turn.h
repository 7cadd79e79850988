#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sb/bus/client.h"

namespace sb {

struct ChatTurnOptions {
  std::string session;    // the session id
  std::string model;      // model / route tag; empty = any
  uint32_t history = 50;  // most recent messages sent to the model as context
  Millis deadline{300000};
};

struct ChatTurnResult {
  proto::Status status;
  std::string reply;  // the assistant's text
  nlohmann::json usage = nlohmann::json::object();
};

// One chat turn composed over the bus, for sbctl and (later) the HTTP edge: session.get for the
// history (the session is created on first use), infer chat with the history plus the user's
// text (tokens reach `on_token` as they arrive), then one atomic session.append of the user's
// and the assistant's messages, with an operation id so a retried append cannot store them
// twice. A failed inference appends nothing. State lives in the session service, so any
// dispatch process can serve the next turn.
ChatTurnResult chatTurn(Client& client, const ChatTurnOptions& options, const std::string& text,
                        const std::function<void(std::string_view)>& on_token);

}  // namespace sb
