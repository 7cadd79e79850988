// libFuzzer target: the body of an infer / chat request, as a client sends it. Never crashes;
// an accepted request has its messages and keeps the model out of the pass-through fields.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chat_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  sb::inference::ChatRequest r;
  if (sb::inference::parseChatRequest(body, size % 3 == 0 ? "m" : "", {}, r).ok()) {
    if (!r.params.is_object() || !r.params.contains("messages") || r.params.contains("model"))
      std::abort();
  }
  return 0;
}
