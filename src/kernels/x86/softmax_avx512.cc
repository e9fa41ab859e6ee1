// Softmax rows, AVX-512 (F/BW/VL/DQ) + FMA. Compiled with per-file ISA flags (CMakeLists.txt); runs only when
// dispatch selected the avx512 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/softmax_impl.h"

namespace kiln::kernels::x86 {

void softmax_rows_avx512(const float* x, float* y, int64_t n, int64_t begin, int64_t end) {
  softmax_rows<Avx512>(x, y, n, begin, end);
}

}  // namespace kiln::kernels::x86
