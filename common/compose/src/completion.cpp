#include "sb/compose/completion.h"

namespace sb {

using json = nlohmann::json;

namespace {

const std::string kEmpty;

const std::string* stringAt(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

}  // namespace

void CompletionBuilder::add(const json& chunk) {
  if (!chunk.is_object()) return;
  auto choices = chunk.find("choices");
  if (choices != chunk.end() && choices->is_array()) {
    for (const json& c : *choices) addChoice(c);
    return;
  }
  if (const std::string* text = stringAt(chunk, "delta")) {
    Choice& c = choices_[0];
    c.content += *text;
    c.has_content = true;
  }
}

void CompletionBuilder::addChoice(const json& choice) {
  if (!choice.is_object()) return;
  auto index = choice.find("index");
  int64_t i = index != choice.end() && index->is_number_integer() ? index->get<int64_t>() : 0;
  Choice& c = choices_[i];
  if (const std::string* f = stringAt(choice, "finish_reason")) c.finish_reason = *f;
  if (auto lp = choice.find("logprobs"); lp != choice.end() && lp->is_object()) {
    if (c.logprobs.is_null()) c.logprobs = json::object();
    for (const char* key : {"content", "refusal"}) {
      auto part = lp->find(key);
      if (part == lp->end() || !part->is_array()) continue;
      json& into = c.logprobs[key];
      if (!into.is_array()) into = json::array();
      for (const json& item : *part) into.push_back(item);
    }
  }
  auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return;
  if (const std::string* s = stringAt(*delta, "content")) {
    c.content += *s;
    c.has_content = true;
  }
  for (const char* key : {"reasoning_content", "reasoning"}) {
    if (const std::string* s = stringAt(*delta, key)) {
      c.reasoning += *s;
      c.reasoning_key = key;
    }
  }
  if (const std::string* s = stringAt(*delta, "refusal")) {
    c.refusal += *s;
    c.has_refusal = true;
  }
  auto calls = delta->find("tool_calls");
  if (calls == delta->end() || !calls->is_array()) return;
  for (const json& piece : *calls) {
    if (!piece.is_object()) continue;
    auto at = piece.find("index");
    int64_t k = at != piece.end() && at->is_number_integer()
                    ? at->get<int64_t>()
                    : static_cast<int64_t>(c.tool_calls.size());
    ToolCall& call = c.tool_calls[k];
    if (const std::string* s = stringAt(piece, "id")) call.id += *s;
    if (const std::string* s = stringAt(piece, "type")) call.type = *s;
    auto fn = piece.find("function");
    if (fn == piece.end() || !fn->is_object()) continue;
    if (const std::string* s = stringAt(*fn, "name")) call.name += *s;
    if (const std::string* s = stringAt(*fn, "arguments")) call.arguments += *s;
  }
}

json CompletionBuilder::messageOf(const Choice& c) const {
  json m = {{"role", "assistant"}};
  // OpenAI sends content null for an answer that is only tool calls (or a refusal).
  m["content"] =
      c.has_content || (c.tool_calls.empty() && !c.has_refusal) ? json(c.content) : json(nullptr);
  if (!c.reasoning.empty()) m[c.reasoning_key] = c.reasoning;
  if (c.has_refusal) m["refusal"] = c.refusal;
  if (!c.tool_calls.empty()) {
    json calls = json::array();
    for (const auto& [k, call] : c.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", call.type.empty() ? "function" : call.type},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    m["tool_calls"] = std::move(calls);
  }
  return m;
}

json CompletionBuilder::choices(const json& reply) const {
  std::string final_reason = "stop";
  if (reply.is_object()) {
    if (const std::string* f = stringAt(reply, "finish_reason"); f && !f->empty())
      final_reason = *f;
  }
  json out = json::array();
  std::map<int64_t, Choice> all = choices_;
  all.try_emplace(0);  // an answer with no output still has its choice
  for (const auto& [i, c] : all) {
    std::string reason = !c.finish_reason.empty() ? c.finish_reason
                         : i == 0                 ? final_reason
                                                  : "stop";
    out.push_back({{"index", i},
                   {"message", messageOf(c)},
                   {"logprobs", c.logprobs},
                   {"finish_reason", reason}});
  }
  return out;
}

json CompletionBuilder::message() const {
  auto it = choices_.find(0);
  return messageOf(it != choices_.end() ? it->second : Choice{});
}

const std::string& CompletionBuilder::text() const {
  auto it = choices_.find(0);
  return it != choices_.end() ? it->second.content : kEmpty;
}

}  // namespace sb
