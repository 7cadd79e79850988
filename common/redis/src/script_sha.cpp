#include "sb/redis/script_sha.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "sb/core/hex.h"

namespace sb::redis {

std::string scriptSha1(std::string_view script) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(script.data(), script.size(), out, &len, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 failed");
  }
  return lowerHex(out, len);
}

}  // namespace sb::redis
