// libFuzzer target: the SSE parser must never crash, hang or read out of bounds, and where
// the stream splits between feeds must not change what it yields (servers and TCP split
// anywhere). The first byte picks the split.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "sb/http/sse_parser.h"

namespace {

struct Run {
  std::vector<sb::http::SseEvent> events;
  bool ok = true;
};

Run parse(std::string_view body, size_t step) {
  sb::http::SseParser p(256);
  Run r;
  for (size_t i = 0; i < body.size() && r.ok; i += step) {
    r.ok =
        p.feed(body.substr(i, step), [&](const sb::http::SseEvent& e) { r.events.push_back(e); });
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 16;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  Run whole = parse(body, body.empty() ? 1 : body.size());
  Run split = parse(body, step);
  // A bound may trip at a different point, so compare only streams that stayed within it.
  if (whole.ok && split.ok) {
    if (whole.events.size() != split.events.size()) std::abort();
    for (size_t i = 0; i < whole.events.size(); ++i) {
      const auto& a = whole.events[i];
      const auto& b = split.events[i];
      if (a.data != b.data || a.event != b.event || a.id != b.id) std::abort();
    }
  }
  return 0;
}
