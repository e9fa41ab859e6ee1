// Softmax, f32, AVX2 / AVX-512 (softmax_avx2.cc, softmax_avx512.cc): registry entries. No ISA flags
// here, see register_x86.h.
#include <string>

#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/x86/register_x86.h"
#include "kernels/x86/x86_kernels.h"
#include "ops/op_schema.h"

namespace kiln::kernels {
namespace {

using Rows = void (*)(const float*, float*, int64_t, int64_t, int64_t);

// Softmax over the last axis, or over [axis, rank) flattened when coerce_2d is set; both are rows of
// contiguous elements. A single non-last axis is strided: the reference kernel handles it.
template <Rows R> void softmax_fast(const KernelContext& c) {
  const Dims& d = c.inputs[0].dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", -1), rank, "axis");
  if (axis != rank - 1 && !c.attrs.get_int("coerce_2d", 0)) return softmax_ref_f32(c);
  int64_t rows = 1, n = 1;
  for (int64_t i = 0; i < axis; ++i) rows *= d[i];
  for (int64_t i = axis; i < rank; ++i) n *= d[i];
  if (n == 0) return;
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_ranges(rows, n, 1, [&](int64_t b, int64_t e) { R(x, y, n, b, e); });
}

}  // namespace

void register_softmax_x86() {
  register_kernel("Softmax", DType::f32, Isa::avx2, "softmax_f32_avx2", softmax_fast<x86::softmax_rows_avx2>);
  register_kernel("Softmax", DType::f32, Isa::avx512, "softmax_f32_avx512", softmax_fast<x86::softmax_rows_avx512>);
}

}  // namespace kiln::kernels
