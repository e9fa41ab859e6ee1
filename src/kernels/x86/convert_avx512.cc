// fp32 <-> bf16 / fp16 conversion (Cast), AVX-512F. Compiled with per-file ISA flags (CMakeLists.txt);
// runs only when dispatch selected the avx512 tier. See x86_kernels.h.
//
// bf16 rounding is done with integer ops rather than vcvtneps2bf16 so that it runs on every AVX-512
// CPU; it matches that instruction (and util/half.h) bit for bit: round to nearest even, fp32 denormals
// to zero, NaNs kept quiet.
#include <immintrin.h>

#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {
namespace {

inline __m256i bf16_of(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7f800000));
  const __mmask16 denormal = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7f800000)), _mm512_setzero_si512());
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
  r = _mm512_mask_mov_epi32(r, denormal, _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)));
  return _mm512_cvtepi32_epi16(r);
}

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }

}  // namespace

void f32_to_bf16_avx512(const float* x, uint16_t* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = tail_mask(end - i);
    _mm256_mask_storeu_epi16(y + i, m, bf16_of(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void bf16_to_f32_avx512(const uint16_t* x, float* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = tail_mask(end - i);
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
}

void f32_to_f16_avx512(const float* x, uint16_t* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = tail_mask(end - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

void f16_to_f32_avx512(const uint16_t* x, float* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = tail_mask(end - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}

}  // namespace kiln::kernels::x86
