#include "cache_key.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "sb/core/hex.h"

namespace sb::embedding {

namespace {

void appendField(std::string& out, std::string_view field) {
  uint64_t n = field.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(field);
}

}  // namespace

Digest cacheDigest(const KeySpace& space, std::string_view text) {
  std::string buf;
  buf.reserve(64 + space.model.size() + space.options.size() + text.size());
  appendField(buf, "switchboard/embedding/v1");
  appendField(buf, space.model);
  appendField(buf, std::to_string(space.dimensions));
  appendField(buf, space.options);
  appendField(buf, text);
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(buf.data(), buf.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != d.size()) {
    throw std::runtime_error("SHA-256 failed");  // libcrypto out of memory: fails this call
  }
  return d;
}

std::string toHex(const Digest& d) { return lowerHex(d.data(), d.size()); }

uint64_t digestHash(const Digest& d) {
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | d[i];
  return h;
}

std::string valueKey(std::string_view prefix, const Digest& d) {
  std::string k(prefix);
  k += '{';
  k += toHex(d);
  k += '}';
  return k;
}

std::string leaseKey(std::string_view prefix, const Digest& d) {
  return valueKey(prefix, d) + ":lease";
}

}  // namespace sb::embedding
