// libFuzzer target: the header and body decoders must never crash, hang or read out of bounds;
// whatever they accept must encode and decode again to the same routing fields; the id read
// from a header that decodes is the one the lenient peek finds; and the router's deadline
// rewrite (in place, or added) yields a header that decodes to the new deadline.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/proto/body_codec.h"
#include "sb/proto/header_codec.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::proto;
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  Limits limits;
  Header h;
  auto peeked = peekRequestId(frame, limits);
  if (decodeHeader(frame, limits, h).ok()) {
    std::string again = encodeHeader(h);
    Header h2;
    require(decodeHeader(again, limits, h2).ok());
    require(h2.kind == h.kind && (!isRequestScoped(h.kind) || h2.id == h.id) &&
            h2.service == h.service && h2.op == h.op && h2.model == h.model &&
            h2.deadline_ms == h.deadline_ms);
    if (isRequestScoped(h.kind)) require(peeked && *peeked == h.id);
    std::string patched(frame);
    Header h3;
    if (h.deadline_at) {
      uint64_t left = h.deadline_ms / 2;
      require(patchDeadline(patched.data(), patched.size(), h.deadline_at, left));
      require(decodeHeader(patched, limits, h3).ok() && h3.deadline_ms == left);
      std::string wide = widenDeadline(frame, h.deadline_at);
      require(patchDeadline(wide.data(), wide.size(), h.deadline_at, 86400000));
      Header h4;
      require(decodeHeader(wide, limits, h4).ok() && h4.deadline_ms == 86400000 &&
              h4.kind == h.kind && h4.id == h.id && h4.service == h.service && h4.op == h.op);
    } else if (frame.size() + 16 <= limits.max_header_bytes) {
      patched = withDeadline(frame, 1234);
      require(decodeHeader(patched, limits, h3).ok() && h3.deadline_ms == 1234 &&
              h3.kind == h.kind && h3.id == h.id && h3.service == h.service);
    }
  }
  msgpack::object_handle body;
  (void)decodeBody(frame, limits, body);
  return 0;
}
