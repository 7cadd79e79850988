#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace sb::edge {

// A count in a usage object (prompt_tokens, ...); -1 when absent or not an integer.
int64_t usageCount(const nlohmann::json& usage, const char* key);
// The `usage` of an OpenAI answer from an infer reply: the backend's object with its details,
// prompt, completion and total tokens always set, our own `counted` marker dropped.
nlohmann::json openAiUsage(const nlohmann::json& reply);

}  // namespace sb::edge
