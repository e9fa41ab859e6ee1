// int8 activation quantisation (kernels/quantize.h's rule), AVX-512F, from f32 or bf16 activations.
// Compiled with per-file ISA flags (CMakeLists.txt); runs only when dispatch selected the avx512 tier.
// See x86_kernels.h.
#include <immintrin.h>

#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {
namespace {

// 16 elements as f32: loaded as they are, or bf16 widened exactly (its bits are the f32's top half).
__m512 load16(const float* x, __mmask16 k) { return _mm512_maskz_loadu_ps(k, x); }
__m512 load16(const uint16_t* x, __mmask16 k) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, x)), 16));
}

__mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }

template <typename T> float absmax(const T* x, int64_t begin, int64_t end) {
  __m512 m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
  int64_t i = begin;
  for (; i + 32 <= end; i += 32) {
    m0 = _mm512_max_ps(m0, _mm512_abs_ps(load16(x + i, 0xffff)));
    m1 = _mm512_max_ps(m1, _mm512_abs_ps(load16(x + i + 16, 0xffff)));
  }
  for (; i < end; i += 16) m0 = _mm512_max_ps(m0, _mm512_abs_ps(load16(x + i, tail_mask(end - i))));
  return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

// q = clamp(round_half_even(x * inv), -127, 127) as s8: the clamp happens in float (so huge values and
// infinities saturate), the conversion rounds with the default MXCSR mode (to nearest even), as
// std::nearbyint does in the scalar rule.
template <typename T> __m128i quantize16(const T* x, __mmask16 k, __m512 inv) {
  const __m512 v = _mm512_mul_ps(load16(x, k), inv);
  return _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_max_ps(_mm512_min_ps(v, _mm512_set1_ps(127.f)), _mm512_set1_ps(-127.f))));
}

// The s8 rule plus the zero point 128: flipping the sign bit of the s8 byte adds 128 exactly. 64 elements
// per full-width store, then 16 at a time.
template <typename T> void quantize_u8(const T* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const __m512i flip64 = _mm512_set1_epi8(static_cast<char>(0x80));
  int64_t i = begin;
  for (; i + 64 <= end; i += 64) {
    __m512i v = _mm512_castsi128_si512(quantize16(x + i, 0xffff, inv));
    v = _mm512_inserti32x4(v, quantize16(x + i + 16, 0xffff, inv), 1);
    v = _mm512_inserti32x4(v, quantize16(x + i + 32, 0xffff, inv), 2);
    v = _mm512_inserti32x4(v, quantize16(x + i + 48, 0xffff, inv), 3);
    _mm512_storeu_si512(q + i, _mm512_xor_si512(v, flip64));
  }
  for (; i < end; i += 16) {
    const __mmask16 k = tail_mask(end - i);
    _mm_mask_storeu_epi8(q + i, k, _mm_xor_si128(quantize16(x + i, k, inv), _mm512_castsi512_si128(flip64)));
  }
}

}  // namespace

float absmax_avx512(const float* x, int64_t begin, int64_t end) { return absmax(x, begin, end); }
float absmax_bf16_avx512(const uint16_t* x, int64_t begin, int64_t end) { return absmax(x, begin, end); }

void quantize_u8_avx512(const float* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end) {
  quantize_u8(x, q, inv_scale, begin, end);
}
void quantize_u8_bf16_avx512(const uint16_t* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end) {
  quantize_u8(x, q, inv_scale, begin, end);
}

}  // namespace kiln::kernels::x86
