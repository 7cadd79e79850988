// libFuzzer target: the edges' API key file (TOML, written by sbctl or by hand). Never crash;
// whatever parses renders back to a file that parses to the same keys.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/auth/api_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::auth;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  KeyFile file;
  if (parseKeyFile(text, file)) return 0;
  KeyFile again;
  if (parseKeyFile(renderKeyFile(file), again)) std::abort();
  if (again.keys.size() != file.keys.size()) std::abort();
  for (size_t i = 0; i < file.keys.size(); ++i) {
    const ApiKey &a = file.keys[i], &b = again.keys[i];
    if (a.name != b.name || a.sha256 != b.sha256 || a.models != b.models ||
        a.requests_per_minute != b.requests_per_minute ||
        a.tokens_per_minute != b.tokens_per_minute || a.concurrent != b.concurrent) {
      std::abort();
    }
  }
  return 0;
}
