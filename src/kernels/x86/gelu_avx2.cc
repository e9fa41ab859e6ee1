// GELU (erf and tanh forms), Erf and Exp, AVX2 + FMA. Compiled with per-file ISA flags
// (CMakeLists.txt); runs only when dispatch selected the avx2 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/elementwise_impl.h"

namespace kiln::kernels::x86 {

void gelu_avx2(const float* x, float* y, bool tanh_form, int64_t begin, int64_t end) {
  gelu_range<Avx2>(x, y, tanh_form, begin, end);
}
void erf_avx2(const float* x, float* y, int64_t begin, int64_t end) { erf_range<Avx2>(x, y, begin, end); }
void exp_avx2(const float* x, float* y, int64_t begin, int64_t end) { exp_range<Avx2>(x, y, begin, end); }

}  // namespace kiln::kernels::x86
