// Add and Mul, f32, AVX2 / AVX-512 (elementwise_avx2.cc, elementwise_avx512.cc): registry entries. No
// ISA flags here, see register_x86.h.
#include <string>
#include <utility>

#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/x86/register_x86.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels {
namespace {

using x86::BinaryOp;

// One tier's binary entry points, by broadcast case.
struct BinaryRanges {
  void (*same)(BinaryOp, const float*, const float*, float*, int64_t, int64_t);
  void (*scalar)(BinaryOp, const float*, float, float*, int64_t, int64_t);
  void (*rows)(BinaryOp, const float*, const float*, float*, int64_t, int64_t, int64_t);
};
constexpr BinaryRanges kAvx2{x86::binary_same_avx2, x86::binary_scalar_avx2, x86::binary_rows_avx2};
constexpr BinaryRanges kAvx512{x86::binary_same_avx512, x86::binary_scalar_avx512, x86::binary_rows_avx512};

// [..., n] with every dim but the last equal to 1.
bool is_trailing_vector(const Dims& v, const Dims& out) {
  if (v.empty() || out.empty() || v.back() != out.back()) return false;
  for (size_t i = 0; i + 1 < v.size(); ++i)
    if (v[i] != 1) return false;
  return true;
}

// Add / Mul: same shapes, a scalar operand, or a trailing vector [n] broadcast over rows [..., n];
// either operand may be the smaller one (both ops are commutative, exactly, in IEEE arithmetic).
// Other broadcasts go to the reference kernel.
template <const BinaryRanges* T, BinaryOp Op> void binary_fast(const KernelContext& c) {
  const TensorArg* full = &c.inputs[0];
  const TensorArg* other = &c.inputs[1];
  const TensorArg& o = c.outputs[0];
  float* y = o.as<float>();
  const int64_t count = o.numel();
  if (full->dims != o.dims) std::swap(full, other);
  const float* a = full->as<float>();
  const float* b = other->as<float>();
  if (full->dims == o.dims && count > 0) {
    if (other->dims == o.dims)
      return parallel_flat(count, [&](int64_t s, int64_t e) { T->same(Op, a, b, y, s, e); });
    if (other->numel() == 1)
      return parallel_flat(count, [&](int64_t s, int64_t e) { T->scalar(Op, a, b[0], y, s, e); });
    if (is_trailing_vector(other->dims, o.dims)) {
      const int64_t n = o.dims.back();
      return parallel_ranges(count / n, n, 1, [&](int64_t s, int64_t e) { T->rows(Op, a, b, y, n, s, e); });
    }
  }
  return Op == BinaryOp::add ? add_ref_f32(c) : mul_ref_f32(c);
}

template <const BinaryRanges* T> void register_tier(Isa isa) {
  const std::string s = std::string("_f32_") + isa_name(isa);
  register_kernel("Add", DType::f32, isa, "add" + s, binary_fast<T, BinaryOp::add>);
  register_kernel("Mul", DType::f32, isa, "mul" + s, binary_fast<T, BinaryOp::mul>);
}

}  // namespace

void register_elementwise_x86() {
  register_tier<&kAvx2>(Isa::avx2);
  register_tier<&kAvx512>(Isa::avx512);
}

}  // namespace kiln::kernels
