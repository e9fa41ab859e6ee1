// SHA-256 (FIPS 180-4), used to record the digest of the source model in the artifact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

// Lower-case hex digest of `size` bytes at `data`.
std::string sha256_hex(const void* data, size_t size);

}  // namespace kiln
