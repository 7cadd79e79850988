#include "openai_usage.h"

#include <algorithm>

namespace sb::edge {

using json = nlohmann::json;

int64_t usageCount(const json& usage, const char* key) {
  auto it = usage.find(key);
  return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

json openAiUsage(const json& reply) {
  json usage = reply.is_object() && reply.contains("usage") && reply["usage"].is_object()
                   ? reply["usage"]
                   : json::object();
  usage.erase("counted");
  int64_t prompt = std::max<int64_t>(0, usageCount(usage, "prompt_tokens")),
          completion = std::max<int64_t>(0, usageCount(usage, "completion_tokens"));
  usage["prompt_tokens"] = prompt;
  usage["completion_tokens"] = completion;
  if (!usage.contains("total_tokens")) usage["total_tokens"] = prompt + completion;
  return usage;
}

}  // namespace sb::edge
