#include "json_request.h"

#include <cctype>

namespace sb::edge {

using json = nlohmann::json;

bool isJsonType(std::string_view type) {
  size_t a = type.find_first_not_of(" \t");
  if (a == std::string_view::npos) return false;
  type.remove_prefix(a);
  constexpr std::string_view kJson = "application/json";
  if (type.size() < kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  // "application/json", optionally with parameters ("; charset=utf-8")
  return type.size() == kJson.size() || type[kJson.size()] == ';' || type[kJson.size()] == ' ' ||
         type[kJson.size()] == '\t';
}

std::optional<HttpError> readJsonRequest(std::string_view content_type, std::string_view text,
                                         json& body, std::string& model) {
  if (!isJsonType(content_type)) {
    return HttpError{415, "Content-Type must be application/json", "invalid_request_error",
                     "unsupported_media_type", ""};
  }
  body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return invalidRequest("The body is not valid JSON (or not UTF-8)");
  if (!body.is_object()) return invalidRequest("The body must be a JSON object");
  auto m = body.find("model");
  if (m == body.end() || !m->is_string() || m->get_ref<const std::string&>().empty())
    return invalidRequest("'model' is required (a string)", "model");
  model = m->get<std::string>();
  return std::nullopt;
}

}  // namespace sb::edge
