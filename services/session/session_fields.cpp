#include "session_fields.h"

namespace sb::session {

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

void readId(proto::BodyFields& f, const char* key, std::string& out, bool required) {
  bool present = false;
  std::string id;
  f.str(key, id, present, 1024, required);
  if (!present || !f.ok()) return;
  if (!validId(id)) {
    f.fail(std::string("'") + key + "' must be 1-256 characters of A-Z a-z 0-9 . _ : - @");
    return;
  }
  out = std::move(id);
}

std::string checkMessage(const msgpack::object& m) {
  if (m.type != msgpack::type::MAP) return "must be a map with a string 'role'";
  proto::BodyFields f(m);
  if (!f.ok()) return f.status().message;
  const msgpack::object* role = f.raw("role");
  if (!role || role->type != msgpack::type::STR) return "must be a map with a string 'role'";
  if (!proto::allStringsUtf8(m)) return "holds a string that is not valid UTF-8";
  return {};
}

}  // namespace sb::session
