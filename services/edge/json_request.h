#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "openai_errors.h"

namespace sb::edge {

// "application/json", with or without parameters ("; charset=utf-8"), in any case.
bool isJsonType(std::string_view content_type);

// What every OpenAI POST request starts with: a JSON content type (else 415), a body that is
// a JSON object (else 400) and a non-empty string `model` (else 400 naming it). Fills `body`
// and `model`, or returns the error to answer.
std::optional<HttpError> readJsonRequest(std::string_view content_type, std::string_view text,
                                         nlohmann::json& body, std::string& model);

}  // namespace sb::edge
