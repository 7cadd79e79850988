// libFuzzer target: a --llm-backend spec (flags, config files, the environment). Never
// crashes; an accepted spec is complete (an openai backend has a URL, every backend a name and
// a concurrency).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "inference_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sb::inference::BackendConfig b;
  std::string text(reinterpret_cast<const char*>(data), size);
  if (!sb::inference::parseBackend(text, b)) {
    if (b.spec.name.empty() || b.spec.max_conns == 0 || (b.kind == "openai" && b.url.empty()))
      std::abort();
  }
  return 0;
}
