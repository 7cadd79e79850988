#include "cached_vector.h"

#include <openssl/evp.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace sb::embedding {

static_assert(std::endian::native == std::endian::little,
              "cached vectors are float32 little-endian, copied as they are in memory");

namespace {

constexpr char kMagic[4] = {'S', 'B', 'E', '1'};
constexpr size_t kHead = 4 + 4 + 4 + 8;

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// The first 8 bytes of SHA-256 over digest || dim || tokens || values.
std::string check(const Digest& key, std::string_view dim_tokens, std::string_view values) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, key.data(), key.size()) == 1 &&
            EVP_DigestUpdate(ctx, dim_tokens.data(), dim_tokens.size()) == 1 &&
            EVP_DigestUpdate(ctx, values.data(), values.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len < 8) throw std::runtime_error("SHA-256 failed");
  return {reinterpret_cast<const char*>(out), 8};
}

}  // namespace

std::string encodeCachedVector(const Digest& key, const Embedding& e) {
  std::string out(kMagic, sizeof(kMagic));
  out.reserve(kHead + e.values.size() * 4);
  putU32(out, static_cast<uint32_t>(e.values.size()));
  putU32(out, e.tokens);
  std::string_view values(reinterpret_cast<const char*>(e.values.data()), e.values.size() * 4);
  out += check(key, std::string_view(out).substr(4, 8), values);
  out.append(values);
  return out;
}

EmbeddingPtr decodeCachedVector(std::string_view bytes, const Digest& key, uint32_t expected_dim,
                                std::string& why, uint32_t max_dim) {
  if (bytes.size() < kHead || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    why = "not a cached vector";
    return nullptr;
  }
  uint32_t dim = getU32(bytes.data() + 4);
  if (dim == 0 || dim > max_dim || (expected_dim != 0 && dim != expected_dim)) {
    why = "dimension " + std::to_string(dim) + " where " +
          (expected_dim ? std::to_string(expected_dim) : "1.." + std::to_string(max_dim)) +
          " was expected";
    return nullptr;
  }
  if (bytes.size() != kHead + size_t{dim} * 4) {
    why =
        "size " + std::to_string(bytes.size()) + " does not match dimension " + std::to_string(dim);
    return nullptr;
  }
  std::string_view values = bytes.substr(kHead);
  if (check(key, bytes.substr(4, 8), values) != bytes.substr(12, 8)) {
    why = "check bytes do not match (altered, or stored under another key)";
    return nullptr;
  }
  auto e = std::make_shared<Embedding>();
  e->tokens = getU32(bytes.data() + 8);
  e->values.resize(dim);
  std::memcpy(e->values.data(), values.data(), values.size());
  for (float v : e->values) {
    if (!std::isfinite(v)) {
      why = "a value is not a finite number";
      return nullptr;
    }
  }
  return e;
}

}  // namespace sb::embedding
