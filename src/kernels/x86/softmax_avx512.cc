// Softmax rows, AVX-512 (F/BW/VL/DQ) + FMA. Compiled with per-file ISA flags (CMakeLists.txt); runs only when
// dispatch selected the avx512 tier. See x86_kernels.h.
#include "kernels/x86/bf16_avx512.h"
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/softmax_impl.h"

namespace kiln::kernels::x86 {

void softmax_rows_avx512(const float* x, float* y, int64_t n, int64_t begin, int64_t end) {
  softmax_rows<Avx512>(x, y, n, begin, end);
}

void attention_probs_avx512(float* s, int64_t n, float scale, const float* mask, const int64_t* mask_offset,
                            int64_t mask_stride, int64_t begin, int64_t end) {
  attention_probs<Avx512>(s, n, scale, mask, mask_offset, mask_stride, begin, end,
                          [&](int64_t r, int64_t k, __m512 v, __mmask16 m, auto full) {
                            st<Avx512, decltype(full)::value>(s + r * n + k, v, m);
                          });
}

void attention_probs_bf16_avx512(float* s, uint16_t* p, int64_t n, float scale, const float* mask,
                                 const int64_t* mask_offset, int64_t mask_stride, int64_t begin, int64_t end) {
  attention_probs<Avx512>(s, n, scale, mask, mask_offset, mask_stride, begin, end,
                          [&](int64_t r, int64_t k, __m512 v, __mmask16 m, auto full) {
                            auto* y = reinterpret_cast<__m256i*>(p + r * n + k);
                            if constexpr (decltype(full)::value) _mm256_storeu_si256(y, bf16_of(v));
                            else _mm256_mask_storeu_epi16(y, m, bf16_of(v));
                          });
}

}  // namespace kiln::kernels::x86
