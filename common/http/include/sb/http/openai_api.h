#pragma once

#include <string>
#include <string_view>

#include "sb/core/clock.h"
#include "sb/http/http_client.h"

namespace sb::http {

// The root the OpenAI API paths hang from: "http://h:8000", "http://h:8000/" and
// "http://h:8000/v1" all give "http://h:8000" (servers are documented both ways).
std::string openAiApiRoot(std::string url);

// POST {root}{path} with a JSON body, and the API key as a Bearer token when there is one.
Request openAiPost(const std::string& root, std::string_view path, const std::string& api_key,
                   std::string json_body, Millis connect_timeout);

// "backend answered HTTP <status>: <message>", the message from an OpenAI-style error body
// ({"error": {"message": ...}}, or {"error": "..."} as some servers send), else the start of
// the body.
std::string openAiErrorMessage(long status, const std::string& body);

}  // namespace sb::http
