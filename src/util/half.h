// 16-bit floating-point formats, stored as raw bits (uint16_t): bfloat16 (8-bit exponent, 7-bit
// mantissa: fp32 with the low 16 bits dropped) and IEEE binary16 ("fp16": 5-bit exponent, 10-bit
// mantissa). Conversions from fp32 round to nearest, ties to even, as the hardware instructions
// (vcvtneps2bf16, vcvtps2ph) do, bit for bit (bf16 also flushes fp32 denormals to zero, as
// vcvtneps2bf16 does); NaN stays NaN. Scalar and portable: the reference for the vector
// conversions in kernels/x86/.
#pragma once

#include <cstdint>
#include <cstring>

namespace kiln {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);  // denormals -> 0, as vcvtneps2bf16
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_f32(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_f16(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;             // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;            // overflows to infinity (rounds past 65504)
  if (a < 0x38800000u) {                                  // below the smallest normal: subnormal or 0
    // Add 0.5 to move the value's bits into the subnormal position; the FPU rounds to nearest even.
    const float r = bits_float(a) + 0.5f;
    return sign | static_cast<uint16_t>(float_bits(r) - float_bits(0.5f));
  }
  uint32_t m = a + 0xc8000fffu + ((a >> 13) & 1u);        // rebias exponent (127 -> 15) and round
  return sign | static_cast<uint16_t>(m >> 13);
}
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return bits_float(sign | 0x7f800000u | (m << 13));  // inf / NaN
  if (e == 0) return (sign ? -1.f : 1.f) * static_cast<float>(m) * (1.f / 16777216.f);  // m * 2^-24
  return bits_float(sign | ((e + 112) << 23) | (m << 13));
}

}  // namespace kiln
