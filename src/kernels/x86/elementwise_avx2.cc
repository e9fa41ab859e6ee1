// Add / Mul (same shape, scalar, trailing-vector broadcast), AVX2 + FMA. Compiled with per-file ISA
// flags (CMakeLists.txt); runs only when dispatch selected the avx2 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/elementwise_impl.h"

namespace kiln::kernels::x86 {

void binary_same_avx2(BinaryOp op, const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  binary_same<Avx2>(op, a, b, y, begin, end);
}
void binary_scalar_avx2(BinaryOp op, const float* a, float s, float* y, int64_t begin, int64_t end) {
  binary_scalar<Avx2>(op, a, s, y, begin, end);
}
void binary_rows_avx2(BinaryOp op, const float* a, const float* v, float* y, int64_t n, int64_t begin, int64_t end) {
  binary_rows<Avx2>(op, a, v, y, n, begin, end);
}

}  // namespace kiln::kernels::x86
