// int8 activation quantisation (kernels/quantize.h's rule), AVX-512F. Compiled with per-file ISA flags
// (CMakeLists.txt); runs only when dispatch selected the avx512 tier. See x86_kernels.h.
#include <immintrin.h>

#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {

float absmax_avx512(const float* x, int64_t begin, int64_t end) {
  __m512 m = _mm512_setzero_ps();
  int64_t i = begin;
  for (; i + 16 <= end; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  if (i < end) {
    const __mmask16 k = static_cast<__mmask16>((1u << (end - i)) - 1);
    m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(k, x + i)));
  }
  return _mm512_reduce_max_ps(m);
}

// q = clamp(round_half_even(x * inv), -127, 127): the clamp happens in float (so huge values and
// infinities saturate), the conversion rounds with the default MXCSR mode (to nearest even), as
// std::nearbyint does in the scalar rule.
void quantize_s8_avx512(const float* x, int8_t* q, float inv, int64_t begin, int64_t end) {
  const __m512 s = _mm512_set1_ps(inv), hi = _mm512_set1_ps(127.f), lo = _mm512_set1_ps(-127.f);
  for (int64_t i = begin; i < end; i += 16) {
    const int64_t left = end - i;
    const __mmask16 k = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), s);
    v = _mm512_max_ps(_mm512_min_ps(v, hi), lo);
    _mm_mask_storeu_epi8(q + i, k, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
  }
}

// The s8 rule plus the zero point 128: flipping the sign bit of the s8 byte adds 128 exactly.
void quantize_u8_avx512(const float* x, uint8_t* q, float inv, int64_t begin, int64_t end) {
  const __m512 s = _mm512_set1_ps(inv), hi = _mm512_set1_ps(127.f), lo = _mm512_set1_ps(-127.f);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = begin; i < end; i += 16) {
    const int64_t left = end - i;
    const __mmask16 k = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), s);
    v = _mm512_max_ps(_mm512_min_ps(v, hi), lo);
    _mm_mask_storeu_epi8(q + i, k, _mm_xor_si128(_mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)), flip));
  }
}

}  // namespace kiln::kernels::x86
