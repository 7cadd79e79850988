// libFuzzer target: one SSE data payload of a chat completion stream, as an LLM backend sends
// it. Never crashes or throws.
#include <cstdint>
#include <string_view>

#include "stream_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)sb::inference::parseStreamEvent(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
