// libFuzzer target: a worker's `ready` body, read by the router. Never crashes; what it accepts
// encodes and decodes again to the same announcement.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/proto/announcement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::proto;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  Announcement a;
  if (!decodeAnnouncement(body, {}, a).ok()) return 0;
  Announcement b;
  if (!decodeAnnouncement(encodeAnnouncement(a), {}, b).ok()) std::abort();
  if (a.name != b.name || a.service != b.service || a.models != b.models ||
      a.capacity != b.capacity || a.weight != b.weight || a.backup != b.backup ||
      a.heartbeat_ms != b.heartbeat_ms || a.liveness != b.liveness || a.instance != b.instance) {
    std::abort();
  }
  return 0;
}
