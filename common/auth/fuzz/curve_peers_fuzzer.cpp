// libFuzzer target: the router's CURVE allow-list (TOML, by hand). Never crash; every key it
// accepts is a valid Z85 key found again under its role.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/auth/curve_keys.h"
#include "sb/auth/curve_peers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::auth;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CurvePeers peers;
  if (parseCurvePeers(text, "/nonexistent", peers)) return 0;
  for (const CurvePeer& p : peers.all()) {
    if (!validCurveKey(p.public_key) || p.name.empty()) std::abort();
    if (peers.find(p.role, p.public_key) != &p) std::abort();
  }
  return 0;
}
