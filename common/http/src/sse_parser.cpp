#include "sb/http/sse_parser.h"

namespace sb::http {

bool SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  if (failed()) return false;
  if (at_start_ && !bytes.empty()) {
    // The stream may open with a UTF-8 byte order mark, possibly split across feeds.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    size_t have = line_.size();
    size_t take = std::min(bytes.size(), kBom.size() - have);
    if (kBom.substr(have, take) == bytes.substr(0, take)) {
      line_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (line_.size() < kBom.size()) return true;  // still could be a BOM
      line_.clear();
    }
    at_start_ = false;
  }
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c != '\r' && c != '\n') {
      after_cr_ = false;
      continue;
    }
    if (c == '\n' && after_cr_ && i == start && line_.empty()) {
      // The LF of a CRLF whose CR ended the line already.
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    after_cr_ = c == '\r';
    if (line_.empty()) {
      onLine(bytes.substr(start, i - start), on_event);
    } else {
      line_.append(bytes.substr(start, i - start));
      onLine(line_, on_event);
      line_.clear();
    }
    if (failed()) return false;
    start = i + 1;
  }
  line_.append(bytes.substr(start));
  if (line_.size() + event_.data.size() > max_) {
    error_ = "server-sent event larger than " + std::to_string(max_) + " bytes";
    return false;
  }
  return true;
}

void SseParser::onLine(std::string_view line, const OnEvent& on_event) {
  if (line.empty()) {
    if (has_data_) {
      if (!event_.data.empty() && event_.data.back() == '\n') event_.data.pop_back();
      on_event(event_);
    }
    event_.data.clear();
    event_.event.clear();
    has_data_ = false;
    return;
  }
  if (line[0] == ':') return;  // a comment (servers send them as keep-alives)
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (event_.data.size() + value.size() + 1 > max_) {
      error_ = "server-sent event larger than " + std::to_string(max_) + " bytes";
      return;
    }
    event_.data.append(value);
    event_.data.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    event_.id.assign(value);
  }
  // "retry" and unknown fields are ignored, as the standard says.
}

}  // namespace sb::http
