// SIMD traits for AVX2 + FMA (8 fp32 lanes), the vocabulary the `*_impl.h` templates are written in.
// Include only from files compiled with the AVX2 flags; internal linkage (see x86_kernels.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace kiln::kernels::x86 {
namespace {

struct Avx2 {
  using V = __m256;
  using M = __m256i;  // all-ones in live lanes of a partial (tail) vector
  using C = __m256;   // all-ones in lanes where a comparison holds
  static constexpr int64_t W = 8;

  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  // Tail of 0 < n < W lanes: vmaskmov reads/writes only live lanes (no fault past the end).
  static M tail(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load(const float* p, M m) { return _mm256_maskload_ps(p, m); }  // dead lanes 0
  static V load_or(const float* p, M m, V fill) {
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store(float* p, V v, M m) { _mm256_maskstore_ps(p, m, v); }
  static V keep(V v, M m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }

  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  // max/min return the second operand when either is NaN: pass the data second to propagate NaN.
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V copysign(V mag, V s) {
    const V sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, mag), _mm256_and_ps(sign, s));
  }
  static C lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static V select(C c, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, c); }
  static V round_nearest(V v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // vexp's input range and final scaling p * 2^n (n integral, within [-125, 128] after the clamp), by
  // building 2^(n-1) in the exponent field. Results below e^-86.6 ~ 2.4e-38 are flushed to 0: producing
  // subnormals with multiplies costs a microcode assist per vector (softmax rows with -3.4e38 masks
  // ran 1.7x slower), and they are within kTolFastMath's absolute bound. Above ln(FLT_MAX): inf.
  static constexpr float kExpMin = -86.6f;
  static constexpr float kExpMax = 88.72283935546875f;  // ln(FLT_MAX) rounded up to fp32
  static V exp_scale(V p, V n, V x) {
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
    const V r = _mm256_mul_ps(_mm256_add_ps(p, p), _mm256_castsi256_ps(e));  // p * 2 * 2^(n-1)
    const V zeroed = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(kExpMin), _CMP_LT_OQ), r);
    return _mm256_blendv_ps(zeroed, _mm256_set1_ps(__builtin_inff()),
                            _mm256_cmp_ps(x, _mm256_set1_ps(kExpMax), _CMP_GT_OQ));
  }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace
}  // namespace kiln::kernels::x86
