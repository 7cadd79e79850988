#pragma once

#include <string>

namespace sb::http {

// The root the OpenAI API paths hang from: "http://h:8000", "http://h:8000/" and
// "http://h:8000/v1" all give "http://h:8000" (servers are documented both ways).
std::string openAiApiRoot(std::string url);

// "backend answered HTTP <status>: <message>", the message from an OpenAI-style error body
// ({"error": {"message": ...}}, or {"error": "..."} as some servers send), else the start of
// the body.
std::string openAiErrorMessage(long status, const std::string& body);

}  // namespace sb::http
