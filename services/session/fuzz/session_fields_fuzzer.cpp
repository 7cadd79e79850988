// libFuzzer target: a session request body as a client sends it, read the way the handlers
// read it (ids, the messages of an append). Never crashes; an accepted id is a valid one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sb/proto/body_codec.h"
#include "session_fields.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  msgpack::object_handle oh;
  if (!proto::decodeBody(body, {}, oh).ok()) return 0;
  proto::BodyFields f(oh.get());
  std::string id;
  session::readId(f, "id", id, false);
  if (f.ok() && !id.empty() && !session::validId(id)) std::abort();
  if (const msgpack::object* list = f.raw("messages"); list && list->type == msgpack::type::ARRAY) {
    for (uint32_t i = 0; i < list->via.array.size; ++i) {
      if (session::checkMessage(list->via.array.ptr[i]).empty() &&
          !proto::allStringsUtf8(list->via.array.ptr[i])) {
        std::abort();
      }
    }
  }
  return 0;
}
