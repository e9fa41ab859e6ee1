// SHA-256 through OpenSSL's libcrypto (uses the CPU's SHA extensions where present: hashing a
// 400 MB model is a noticeable part of compile time otherwise).
#include "util/sha256.h"

#include <openssl/evp.h>

#include "kiln/error.h"

namespace kiln {

std::string sha256_hex(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, digest, &len, EVP_sha256(), nullptr) != 1) fail("SHA-256 computation failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace kiln
