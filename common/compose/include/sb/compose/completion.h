#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sb {

// Puts a streamed `infer` answer back together (PROTOCOL.md 6.2): the chunks' `delta` text
// and `choices`, then the final reply, into OpenAI's non-streamed shape: per choice one
// message with its content, reasoning, refusal and tool calls (each call's arguments joined
// from their pieces, by the call's index), logprobs and finish reason. Used for non-streamed
// HTTP answers and for the assistant message a chat turn stores.
class CompletionBuilder {
 public:
  // One chunk body ({delta: "text", choices?: [...]}); anything else is ignored.
  void add(const nlohmann::json& chunk);
  // The `choices` array of a chat.completion, with the reply's finish reason for choice 0
  // (and "stop" for any other choice the stream did not end itself).
  nlohmann::json choices(const nlohmann::json& reply) const;
  // The assistant message of choice 0, as a chat history stores it.
  nlohmann::json message() const;
  // Choice 0's text so far.
  const std::string& text() const;

 private:
  struct ToolCall {
    std::string id, type, name, arguments;
  };
  struct Choice {
    std::string content, reasoning, refusal;
    std::string reasoning_key = "reasoning_content";  // as the backend named it
    bool has_content = false, has_refusal = false;
    std::map<int64_t, ToolCall> tool_calls;  // by the call's index
    nlohmann::json logprobs;  // {content: [...], refusal: [...]} joined; null if none
    std::string finish_reason;
  };
  void addChoice(const nlohmann::json& choice);
  nlohmann::json messageOf(const Choice& c) const;

  std::map<int64_t, Choice> choices_;  // by index
};

}  // namespace sb
