#include "stream_event.h"

#include <nlohmann/json.hpp>

namespace sb::inference {

using json = nlohmann::json;

namespace {

// An integer the JSON holds as a signed or unsigned number that fits int64; -1 otherwise.
int64_t count(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) return -1;
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    return v <= INT64_MAX ? static_cast<int64_t>(v) : -1;
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return -1;
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
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    e.prompt_tokens = count(*u, "prompt_tokens");
    e.completion_tokens = count(*u, "completion_tokens");
  }
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty()) return e;
  const json& choice = (*choices)[0];
  if (!choice.is_object()) return e;
  if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string())
    e.finish_reason = f->get<std::string>();
  if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) {
    if (auto c = d->find("content"); c != d->end() && c->is_string())
      e.text = c->get<std::string>();
  }
  return e;
}

}  // namespace sb::inference
