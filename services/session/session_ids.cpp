#include "session_ids.h"

namespace sb::session {

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
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
    f.fail(std::string("'") + key + "' must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    return;
  }
  out = std::move(id);
}

}  // namespace sb::session
