#include "embeddings_request.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "json_request.h"

namespace sb::edge {

using json = nlohmann::json;

namespace {

HttpError tokenIds() {
  return invalidRequest(
      "'input' holds token ids; this server embeds text only: send the text as a string or an "
      "array of strings",
      "input", "token_ids_not_supported");
}

}  // namespace

std::optional<HttpError> parseEmbeddingsRequest(std::string_view content_type,
                                                std::string_view body_text,
                                                const EmbeddingsLimits& limits,
                                                EmbeddingsRequest& out) {
  json body;
  if (auto err = readJsonRequest(content_type, body_text, body, out.model)) return err;
  if (out.model.size() > 256) return invalidRequest("'model' is longer than 256 bytes", "model");
  auto input = body.find("input");
  std::string size_rule = "each input must be a non-empty string of at most " +
                          std::to_string(limits.max_text_bytes) + " bytes";
  if (input == body.end() || input->is_null())
    return invalidRequest("'input' is required: a string or an array of strings", "input");
  if (input->is_string()) {
    const auto& s = input->get_ref<const std::string&>();
    if (s.empty() || s.size() > limits.max_text_bytes) return invalidRequest(size_rule, "input");
    out.inputs.push_back(s);
  } else if (input->is_array()) {
    if (input->empty()) return invalidRequest("'input' must not be an empty array", "input");
    if (input->size() > limits.max_inputs) {
      return invalidRequest("'input' holds " + std::to_string(input->size()) + " items; at most " +
                                std::to_string(limits.max_inputs) + " per request",
                            "input");
    }
    bool all_ids = std::all_of(input->begin(), input->end(), [](const json& item) {
      return item.is_number_integer() || item.is_array();
    });
    if (all_ids) return tokenIds();
    for (size_t i = 0; i < input->size(); ++i) {
      const json& item = (*input)[i];
      std::string at = "'input[" + std::to_string(i) + "]'";
      if (!item.is_string()) return invalidRequest(at + " is not a string", "input");
      const auto& s = item.get_ref<const std::string&>();
      if (s.empty()) return invalidRequest(at + " is empty: there is nothing to embed", "input");
      if (s.size() > limits.max_text_bytes)
        return invalidRequest(at.append(": ").append(size_rule), "input");
      out.inputs.push_back(s);
    }
  } else {
    return invalidRequest("'input' must be a string or an array of strings", "input");
  }
  if (auto f = body.find("encoding_format"); f != body.end() && !f->is_null()) {
    if (*f == "base64")
      out.base64 = true;
    else if (*f != "float")
      return invalidRequest("'encoding_format' must be \"float\" or \"base64\"", "encoding_format");
  }
  if (auto d = body.find("dimensions"); d != body.end() && !d->is_null()) {
    if (!d->is_number_unsigned() || d->get<uint64_t>() < 1 || d->get<uint64_t>() > 16384)
      return invalidRequest("'dimensions' must be an integer from 1 to 16384", "dimensions");
    out.dimensions = d->get<uint32_t>();
  }
  return std::nullopt;
}

}  // namespace sb::edge
