// Softmax rows, AVX2 + FMA. Compiled with per-file ISA flags (CMakeLists.txt); runs only when
// dispatch selected the avx2 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/softmax_impl.h"

namespace kiln::kernels::x86 {

void softmax_rows_avx2(const float* x, float* y, int64_t n, int64_t begin, int64_t end) {
  softmax_rows<Avx2>(x, y, n, begin, end);
}

void attention_probs_avx2(float* s, int64_t n, float scale, const float* mask, const int64_t* mask_offset,
                          int64_t mask_stride, int64_t begin, int64_t end) {
  attention_probs<Avx2>(s, n, scale, mask, mask_offset, mask_stride, begin, end,
                        [&](int64_t r, int64_t k, Avx2::V v, Avx2::M m, auto full) {
                          st<Avx2, decltype(full)::value>(s + r * n + k, v, m);
                        });
}

}  // namespace kiln::kernels::x86
