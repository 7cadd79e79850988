#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sb::http {

// One server-sent event: `data` is its data lines joined with '\n'.
struct SseEvent {
  std::string event;  // the "event:" field, empty for the default ("message")
  std::string data;
  std::string id;
};

// Incremental parser of a text/event-stream body (the WHATWG rules that OpenAI-compatible
// servers stream chat completions in): lines end in CRLF, LF or CR, split anywhere across
// feeds; "data:" lines accumulate; a blank line dispatches the event; ":" lines are comments.
// Bounded: a line or an event larger than `max_event_bytes` fails the stream (a peer cannot
// make us buffer without limit). Works on bytes alone, apart from any I/O.
class SseParser {
 public:
  using OnEvent = std::function<void(const SseEvent&)>;

  explicit SseParser(size_t max_event_bytes = size_t{1} << 20) : max_(max_event_bytes) {}

  // Parses `bytes`, calling `on_event` for every event they complete. False once the stream
  // broke a bound; error() says how, and later feeds do nothing.
  bool feed(std::string_view bytes, const OnEvent& on_event);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void onLine(std::string_view line, const OnEvent& on_event);

  size_t max_;
  std::string line_;       // the current line, not yet ended
  bool after_cr_ = false;  // the last byte was CR: an LF next ends nothing more
  bool at_start_ = true;   // a UTF-8 BOM is skipped here
  bool has_data_ = false;  // a data line arrived since the last dispatch
  SseEvent event_;
  std::string error_;
};

}  // namespace sb::http
