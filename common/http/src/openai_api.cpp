#include "sb/http/openai_api.h"

#include <nlohmann/json.hpp>

namespace sb::http {

std::string openAiApiRoot(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  return url;
}

Request openAiPost(const std::string& root, std::string_view path, const std::string& api_key,
                   std::string json_body, Millis connect_timeout) {
  Request r;
  r.method = "POST";
  r.url = root;
  r.url += path;
  r.headers = {"Content-Type: application/json"};
  if (!api_key.empty()) r.headers.push_back("Authorization: Bearer " + api_key);
  r.body = std::move(json_body);
  r.connect_timeout = connect_timeout;
  return r;
}

std::string openAiErrorMessage(long status, const std::string& body) {
  using json = nlohmann::json;
  json j = json::parse(body, nullptr, false);
  std::string detail;
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string())
      detail = e["message"].get<std::string>();
    else if (e.is_string())
      detail = e.get<std::string>();
  }
  if (detail.empty()) detail = body.substr(0, 200);
  return "backend answered HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail);
}

}  // namespace sb::http
