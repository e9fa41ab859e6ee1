// Softmax rows, AVX2 + FMA. Compiled with per-file ISA flags (CMakeLists.txt); runs only when
// dispatch selected the avx2 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/softmax_impl.h"

namespace kiln::kernels::x86 {

void softmax_rows_avx2(const float* x, float* y, int64_t n, int64_t begin, int64_t end) {
  softmax_rows<Avx2>(x, y, n, begin, end);
}

}  // namespace kiln::kernels::x86
