// SIMD traits for AVX-512 (16 fp32 lanes), the vocabulary the `*_impl.h` templates are written in.
// Include only from files compiled with the AVX-512 flags; internal linkage (see x86_kernels.h).
#pragma once

// GCC 12 reports false (maybe-)uninitialized warnings inside avx512fintrin.h (its unmasked
// intrinsics pass _mm512_undefined_ps() as the pass-through operand); this header only goes into the
// small AVX-512 kernel files, so silence them there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

namespace kiln::kernels::x86 {
namespace {

struct Avx512 {
  using V = __m512;     // a vector
  using M = __mmask16;  // which lanes of a partial (tail) vector are live
  using C = __mmask16;  // a lane-wise comparison result
  static constexpr int64_t W = 16;

  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float v) { return _mm512_set1_ps(v); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  // Tail of 0 < n < W lanes: masked loads read only live lanes (no fault past the end).
  static M tail(int64_t n) { return static_cast<M>((1u << n) - 1u); }
  static V load(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }              // dead lanes 0
  static V load_or(const float* p, M m, V fill) { return _mm512_mask_loadu_ps(fill, m, p); }  // dead = fill
  static void store(float* p, V v, M m) { _mm512_mask_storeu_ps(p, m, v); }
  static V keep(V v, M m) { return _mm512_maskz_mov_ps(m, v); }  // dead lanes 0

  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c, one rounding
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b, one rounding
  // max/min return the second operand when either is NaN: pass the data second to propagate NaN.
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V abs(V a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
  }
  // |mag| with the sign bit of s.
  static V copysign(V mag, V s) {
    const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(mag), _mm512_castps_si512(s), sign,
                                                         0xd8));  // sign ? s : mag, bitwise
  }
  static C lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static V select(C c, V if_true, V if_false) { return _mm512_mask_blend_ps(c, if_false, if_true); }
  static V round_nearest(V v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // vexp's input range and final scaling p * 2^n (n integral, within [-150, 129] after the clamp):
  // scalef produces subnormals, 0 and inf exactly where the correctly rounded e^x does, at full speed.
  static constexpr float kExpMin = -104.0f;  // e^-104 < half the smallest subnormal: 0
  static constexpr float kExpMax = 89.0f;    // e^89 > FLT_MAX: inf
  static V exp_scale(V p, V n, V /*x*/) { return _mm512_scalef_ps(p, n); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }
};

}  // namespace
}  // namespace kiln::kernels::x86
