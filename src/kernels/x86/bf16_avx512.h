// fp32 -> bf16 rounding of 16 lanes, AVX-512F. Include only from AVX-512-compiled files (internal
// linkage, see x86_kernels.h).
//
// Done with integer ops rather than vcvtneps2bf16 so that it runs on every AVX-512 CPU; it matches that
// instruction (and util/half.h) bit for bit: round to nearest even, fp32 denormals to zero, NaNs kept
// quiet.
#pragma once

#include <immintrin.h>

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

}  // namespace
}  // namespace kiln::kernels::x86
