// Add / Mul (same shape, scalar, trailing-vector broadcast), AVX-512 (F/BW/VL/DQ) + FMA. Compiled with per-file ISA
// flags (CMakeLists.txt); runs only when dispatch selected the avx512 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/elementwise_impl.h"

namespace kiln::kernels::x86 {

void binary_same_avx512(BinaryOp op, const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  binary_same<Avx512>(op, a, b, y, begin, end);
}
void binary_scalar_avx512(BinaryOp op, const float* a, float s, float* y, int64_t begin, int64_t end) {
  binary_scalar<Avx512>(op, a, s, y, begin, end);
}
void binary_rows_avx512(BinaryOp op, const float* a, const float* v, float* y, int64_t n, int64_t begin, int64_t end) {
  binary_rows<Avx512>(op, a, v, y, n, begin, end);
}

}  // namespace kiln::kernels::x86
