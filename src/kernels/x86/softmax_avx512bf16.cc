// Attention probabilities written as bf16 with vcvtneps2bf16, AVX-512 + AVX512_BF16. Compiled with per-file
// ISA flags (CMakeLists.txt); runs only when kernels::has_avx512_bf16(). See x86_kernels.h.
//
// The instruction rounds to nearest even and flushes denormals to zero, as bf16_avx512.h's integer
// rounding does, so both variants write the same bits (probabilities are never NaN).
#include <immintrin.h>

#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/softmax_impl.h"

namespace kiln::kernels::x86 {

void attention_probs_bf16_avx512bf16(float* s, uint16_t* p, int64_t n, float scale, const float* mask,
                                     const int64_t* mask_offset, int64_t mask_stride, int64_t begin, int64_t end) {
  attention_probs<Avx512>(s, n, scale, mask, mask_offset, mask_stride, begin, end,
                          [&](int64_t r, int64_t k, __m512 v, __mmask16 m, auto full) {
                            const __m256i h = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
                            auto* y = reinterpret_cast<__m256i*>(p + r * n + k);
                            if constexpr (decltype(full)::value) _mm256_storeu_si256(y, h);
                            else _mm256_mask_storeu_epi16(y, m, h);
                          });
}

}  // namespace kiln::kernels::x86
