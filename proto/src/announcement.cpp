#include "sb/proto/announcement.h"

#include "sb/proto/body_codec.h"
#include "sb/proto/body_fields.h"

namespace sb::proto {

std::string encodeAnnouncement(const Announcement& a) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(a.instance ? 9 : 8);
  pk.pack("name"), pk.pack(a.name);
  pk.pack("svc"), pk.pack(a.service);
  pk.pack("models"), pk.pack(a.models);
  pk.pack("cap"), pk.pack(a.capacity);
  pk.pack("w"), pk.pack(a.weight);
  pk.pack("backup"), pk.pack(a.backup);
  pk.pack("hb"), pk.pack(a.heartbeat_ms);
  pk.pack("liveness"), pk.pack(a.liveness);
  if (a.instance) pk.pack("inst"), pk.pack(a.instance);
  return std::string(buf.data(), buf.size());
}

Status decodeAnnouncement(std::string_view body, const Limits& limits, Announcement& out) {
  out = Announcement{};
  msgpack::object_handle oh;
  Status st = decodeBody(body, limits, oh);
  if (!st.ok()) return Status::error(ErrorCode::kInvalidArgument, "ready body: " + st.message);
  BodyFields f(oh.get());
  bool present = false;
  uint64_t cap = 1, w = 1, hb = 0, liveness = 0, inst = 0;
  f.str("name", out.name, present, kMaxNameBytes, true);
  if (present && out.name.empty()) f.fail("'name' must not be empty");
  // Names go into logs (one line per event) and metric labels: no control characters.
  for (unsigned char c : out.name) {
    if (c < 0x20 || c == 0x7f) {
      f.fail("'name' must not contain control characters");
      break;
    }
  }
  f.str("svc", out.service, present, limits.max_string_bytes, true);
  if (present && out.service.empty()) f.fail("'svc' must not be empty");
  f.strings("models", out.models, present, kMaxModels, limits.max_string_bytes);
  f.uint("cap", cap, present, 0, UINT32_MAX);
  f.uint("w", w, present, 0, UINT32_MAX);
  f.boolean("backup", out.backup, present);
  f.uint("hb", hb, present, 0, UINT32_MAX);
  f.uint("liveness", liveness, present, 0, UINT32_MAX);
  f.uint("inst", inst, present, 0, UINT64_MAX);
  if (!f.ok())
    return Status::error(ErrorCode::kInvalidArgument, "ready body: " + f.status().message);
  // Zero means "not given" for these, as the document says.
  out.capacity = cap ? static_cast<uint32_t>(cap) : 1;
  out.weight = w ? static_cast<uint32_t>(w) : 1;
  out.heartbeat_ms = static_cast<uint32_t>(hb);
  out.liveness = static_cast<uint32_t>(liveness);
  out.instance = inst;
  return {};
}

}  // namespace sb::proto
