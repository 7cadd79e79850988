#include "stream_event.h"

namespace sb::inference {

using json = nlohmann::json;

namespace {

std::string stringAt(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Bytes of generated output a delta carries: its text fields and tool-call pieces. A delta
// with none (a role, a finish) is not a token: it neither starts the first-token clock nor
// counts as delivered.
size_t outputBytes(const json& delta) {
  size_t n = 0;
  for (const char* key : {"content", "reasoning_content", "reasoning", "refusal"}) {
    if (auto it = delta.find(key); it != delta.end() && it->is_string())
      n += it->get_ref<const std::string&>().size();
  }
  auto calls = delta.find("tool_calls");
  if (calls == delta.end() || !calls->is_array()) return n;
  for (const json& call : *calls) {
    if (!call.is_object()) continue;
    n += stringAt(call, "id").size();
    auto fn = call.find("function");
    if (fn == call.end() || !fn->is_object()) continue;
    n += stringAt(*fn, "name").size() + stringAt(*fn, "arguments").size();
  }
  return n;
}

// Plain: one choice, index 0, a delta of content (and role) only, nothing else set.
bool plain(const json& choice) {
  if (!choice.is_object()) return false;
  for (const auto& [key, value] : choice.items()) {
    if (key == "index") {
      if (!value.is_number_integer() || value.get<int64_t>() != 0) return false;
    } else if (key == "delta") {
      if (!value.is_object()) return false;
      for (const auto& [dk, dv] : value.items()) {
        bool ok = (dk == "content" && (dv.is_string() || dv.is_null())) ||
                  (dk == "role" && dv.is_string());
        if (!ok) return false;
      }
    } else if (!value.is_null()) {
      return false;  // logprobs, finish_reason, anything we do not know
    }
  }
  return true;
}

// A choice reduced to the keys the OpenAI chunk defines, each only when set.
json normalised(const json& choice, size_t position) {
  json c = json::object();
  auto index = choice.find("index");
  c["index"] = index != choice.end() && index->is_number_integer() ? *index : json(position);
  auto delta = choice.find("delta");
  c["delta"] = delta != choice.end() && delta->is_object() ? *delta : json::object();
  for (const char* key : {"logprobs", "finish_reason"}) {
    if (auto it = choice.find(key); it != choice.end() && !it->is_null()) c[key] = *it;
  }
  return c;
}

}  // namespace

StreamEvent parseStreamEvent(std::string_view data) {
  StreamEvent e;
  if (data == "[DONE]") {
    e.kind = StreamEvent::Kind::kDone;
    return e;
  }
  json j = json::parse(data.begin(), data.end(), nullptr, false);
  if (!j.is_object()) {
    e.kind = StreamEvent::Kind::kBad;
    return e;
  }
  if (j.contains("error")) {
    e.kind = StreamEvent::Kind::kError;
    return e;
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) e.usage = std::move(*u);
  e.system_fingerprint = stringAt(j, "system_fingerprint");
  e.model = stringAt(j, "model");
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty()) return e;
  bool is_plain = choices->size() == 1 && plain((*choices)[0]);
  json rich = json::array();
  for (size_t i = 0; i < choices->size(); ++i) {
    const json& choice = (*choices)[i];
    if (!choice.is_object()) continue;
    json c = normalised(choice, i);
    e.output_bytes += outputBytes(c["delta"]);
    if (c["index"] == 0) {
      e.text = stringAt(c["delta"], "content");
      e.finish_reason = stringAt(c, "finish_reason");
    }
    if (!is_plain) rich.push_back(std::move(c));
  }
  if (!is_plain) e.choices = std::move(rich);
  return e;
}

}  // namespace sb::inference
