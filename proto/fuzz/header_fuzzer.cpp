// libFuzzer target: the header and body decoders must never crash, hang or read out of bounds,
// and whatever they accept must encode and decode again to the same routing fields.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  sb::proto::Limits limits;
  sb::proto::Header h;
  if (sb::proto::decodeHeader(frame, limits, h).ok()) {
    std::string again = sb::proto::encodeHeader(h);
    sb::proto::Header h2;
    if (!sb::proto::decodeHeader(again, limits, h2).ok()) std::abort();
    if (h2.kind != h.kind || (sb::proto::isRequestScoped(h.kind) && h2.id != h.id) ||
        h2.service != h.service || h2.op != h.op || h2.model != h.model ||
        h2.deadline_ms != h.deadline_ms) {
      std::abort();
    }
  }
  msgpack::object_handle body;
  (void)sb::proto::decodeBody(frame, limits, body);
  return 0;
}
