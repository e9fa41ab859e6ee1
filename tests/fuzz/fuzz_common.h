// Shared by the libFuzzer targets (tests/fuzz/fuzz_*.cc): each target feeds the input to one parser's
// from-bytes entry point and accepts only kiln::Error as a rejection. Any other exception escapes
// LLVMFuzzerTestOneInput and aborts (libFuzzer reports it as a crash), as do crashes, leaks, undefined
// behaviour (ASan/UBSan), timeouts and allocations over the RSS limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kiln/error.h"

namespace kiln::fuzz {

inline std::string_view bytes_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

template <typename F> void reject_cleanly(F&& parse) {
  try {
    parse();
  } catch (const kiln::Error&) {
    // A clean refusal: what every malformed input must produce.
  }
}

}  // namespace kiln::fuzz

// KILN_FUZZ_TARGET({ statements using `input` (a std::string_view of the bytes) })
#define KILN_FUZZ_TARGET(...)                                                        \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {          \
    const std::string_view input = ::kiln::fuzz::bytes_of(data, size);               \
    (void)input;                                                                     \
    ::kiln::fuzz::reject_cleanly([&] { __VA_ARGS__; });                              \
    return 0;                                                                        \
  }
