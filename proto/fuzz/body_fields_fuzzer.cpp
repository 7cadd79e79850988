// libFuzzer target: the field readers every service uses on request bodies. Never crash on any
// body; a string they hand out is UTF-8 by nlohmann::json's own judgement too (a differential
// check of our validator).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sb/proto/body_codec.h"
#include "sb/proto/body_fields.h"

namespace {

// nlohmann::json refuses to serialise a string that is not UTF-8.
bool jsonSaysUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::proto;
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  if (size > 0) {
    std::string raw(frame.substr(1));
    if (isUtf8(raw) != jsonSaysUtf8(raw)) std::abort();
  }
  msgpack::object_handle oh;
  if (!decodeBody(frame, {}, oh).ok()) return 0;
  (void)allStringsUtf8(oh.get());
  BodyFields f(oh.get(), size % 2 == 0);
  bool present = false;
  std::string s, packed;
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  std::vector<std::string> list;
  f.str("id", s, present, 128);
  if (present && f.ok() && !isUtf8(s)) std::abort();
  f.uint("n", u, present, 1, 1000);
  f.integer("i", i, present);
  f.boolean("b", b, present);
  f.strings("l", list, present, 8, 64);
  f.packed("m", packed, 4096);
  for (const auto& e : list) {
    if (f.ok() && !isUtf8(e)) std::abort();
  }
  return 0;
}
