// fp32 <-> bf16 / fp16 conversion (Cast), AVX-512F. Compiled with per-file ISA flags (CMakeLists.txt);
// runs only when dispatch selected the avx512 tier. See x86_kernels.h; bf16 rounding in bf16_avx512.h.
#include <immintrin.h>

#include "kernels/x86/bf16_avx512.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {
namespace {

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
