// The int8 quantisation rule shared by the compiler (weights), the reference kernel and the fast
// kernels (activations), so that all of them round exactly alike.
//
// Symmetric, zero point 0: q = clamp(round_half_even(x / scale), -127, 127) with scale = absmax / 127
// (-128 is never produced, so negation is exact and u8/s8 kernels agree). Weights get one scale per
// output column; activations one scale per tensor, from the tensor itself at each call (dynamic) or
// from calibration data at compile time (static, values beyond the calibrated range saturate).
#pragma once

#include <cmath>
#include <cstdint>

namespace kiln::kernels {

// The scale that maps [-absmax, absmax] onto [-127, 127]; 1 for an all-zero tensor (any scale works).
inline float quant_scale(float absmax) { return absmax > 0 && std::isfinite(absmax) ? absmax / 127.f : 1.f; }

// `inv_scale` is 1 / scale, computed once per tensor.
inline int8_t quantize_s8(float x, float inv_scale) {
  float q = std::nearbyint(x * inv_scale);
  q = q > 127.f ? 127.f : (q < -127.f ? -127.f : q);
  return static_cast<int8_t>(q);
}

// The same value as an unsigned byte with zero point 128 (q + 128, in [1, 255]): the operand order VNNI's
// vpdpbusd takes natively (u8 activations x s8 weights). The GEMM subtracts 128 x the weight column sums
// again, so the product is exactly the s8 one.
inline uint8_t quantize_u8(float x, float inv_scale) { return static_cast<uint8_t>(quantize_s8(x, inv_scale) + 128); }

}  // namespace kiln::kernels
