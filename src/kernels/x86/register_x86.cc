// The AVX2 and AVX-512 kernels as registry entries: attribute and shape handling, the cases each fast
// path covers (others call the reference kernel), OpenMP partitioning, and register_x86_kernels().
// Compiled WITHOUT ISA flags: nothing here executes vector code; it only calls the row/range functions
// of x86_kernels.h once select_kernel() picked a tier the CPU supports.
#include <algorithm>
#include <string>

#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/x86/x86_kernels.h"
#include "ops/op_schema.h"

namespace kiln::kernels {
namespace {

using x86::BinaryOp;
using x86::NormRows;

// One tier's entry points.
struct Tier {
  void (*layer_norm)(const NormRows&, int64_t, int64_t);
  void (*softmax)(const float*, float*, int64_t, int64_t, int64_t);
  void (*gelu)(const float*, float*, bool, int64_t, int64_t);
  void (*erf)(const float*, float*, int64_t, int64_t);
  void (*exp)(const float*, float*, int64_t, int64_t);
  void (*binary_same)(BinaryOp, const float*, const float*, float*, int64_t, int64_t);
  void (*binary_scalar)(BinaryOp, const float*, float, float*, int64_t, int64_t);
  void (*binary_rows)(BinaryOp, const float*, const float*, float*, int64_t, int64_t, int64_t);
};

#define KILN_X86_TIER(ISA)                                                                                  \
  Tier {                                                                                                    \
    x86::layer_norm_rows_##ISA, x86::softmax_rows_##ISA, x86::gelu_##ISA, x86::erf_##ISA, x86::exp_##ISA,   \
        x86::binary_same_##ISA, x86::binary_scalar_##ISA, x86::binary_rows_##ISA                            \
  }
constexpr Tier kAvx2 = KILN_X86_TIER(avx2);
constexpr Tier kAvx512 = KILN_X86_TIER(avx512);
#undef KILN_X86_TIER

const float* optional_input(const KernelContext& c, size_t i) {
  return i < c.inputs.size() && c.inputs[i].present() ? c.inputs[i].as<float>() : nullptr;
}
float* optional_output(const KernelContext& c, size_t i) {
  return i < c.outputs.size() && c.outputs[i].present() ? c.outputs[i].as<float>() : nullptr;
}

// LayerNormalization over axes [axis, rank): the normalised block is contiguous for every axis, so
// all axes take the fast path.
template <const Tier* T> void layer_norm_fast(const KernelContext& c) {
  const Dims& d = c.inputs[0].dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", -1), rank, "axis");
  int64_t rows = 1, n = 1;
  for (int64_t i = 0; i < axis; ++i) rows *= d[i];
  for (int64_t i = axis; i < rank; ++i) n *= d[i];
  if (n == 0) return layer_norm_ref_f32(c);
  NormRows a;
  a.x = c.inputs[0].as<float>();
  a.gamma = c.inputs[1].as<float>();
  a.beta = optional_input(c, 2);
  a.y = c.outputs[0].as<float>();
  a.mean = optional_output(c, 1);
  a.inv_std_dev = optional_output(c, 2);
  a.n = n;
  a.epsilon = c.attrs.get_float("epsilon", 1e-5);
  parallel_ranges(rows, n, 1, [&](int64_t b, int64_t e) { T->layer_norm(a, b, e); });
}

template <const Tier* T> void skip_layer_norm_fast(const KernelContext& c) {
  const Dims& d = c.inputs[0].dims;
  const int64_t n = d.empty() ? 1 : d.back();
  if (n == 0) return;  // nothing to write
  NormRows a;
  a.x = c.inputs[0].as<float>();
  a.skip = c.inputs[1].as<float>();
  a.gamma = c.inputs[2].as<float>();
  a.beta = optional_input(c, 3);
  a.add_bias = optional_input(c, 4);
  a.y = c.outputs[0].as<float>();
  a.sum = optional_output(c, 1);
  a.n = n;
  a.epsilon = c.attrs.get_float("epsilon", 1e-12);
  parallel_ranges(c.inputs[0].numel() / n, n, 1, [&](int64_t b, int64_t e) { T->layer_norm(a, b, e); });
}

// Softmax over the last axis, or over [axis, rank) flattened when coerce_2d is set; both are rows of
// contiguous elements. A single non-last axis is strided: the reference kernel handles it.
template <const Tier* T> void softmax_fast(const KernelContext& c) {
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
  parallel_ranges(rows, n, 1, [&](int64_t b, int64_t e) { T->softmax(x, y, n, b, e); });
}

template <const Tier* T> void gelu_fast(const KernelContext& c) {
  const bool tanh_form = c.attrs.get_string("approximate", "none") == "tanh";
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { T->gelu(x, y, tanh_form, b, e); });
}

template <const Tier* T> void erf_fast(const KernelContext& c) {
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { T->erf(x, y, b, e); });
}

template <const Tier* T> void exp_fast(const KernelContext& c) {
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { T->exp(x, y, b, e); });
}

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
template <const Tier* T, BinaryOp Op> void binary_fast(const KernelContext& c) {
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
      return parallel_flat(count, [&](int64_t s, int64_t e) { T->binary_same(Op, a, b, y, s, e); });
    if (other->numel() == 1)
      return parallel_flat(count, [&](int64_t s, int64_t e) { T->binary_scalar(Op, a, b[0], y, s, e); });
    if (is_trailing_vector(other->dims, o.dims)) {
      const int64_t n = o.dims.back();
      return parallel_ranges(count / n, n, 1, [&](int64_t s, int64_t e) { T->binary_rows(Op, a, b, y, n, s, e); });
    }
  }
  return Op == BinaryOp::add ? add_ref_f32(c) : mul_ref_f32(c);
}

template <const Tier* T> void register_tier(Isa isa) {
  const std::string s = std::string("_f32_") + isa_name(isa);
  register_kernel("LayerNormalization", DType::f32, isa, "layer_norm" + s, layer_norm_fast<T>);
  register_kernel("SkipLayerNormalization", DType::f32, isa, "skip_layer_norm" + s, skip_layer_norm_fast<T>);
  register_kernel("Softmax", DType::f32, isa, "softmax" + s, softmax_fast<T>);
  register_kernel("Gelu", DType::f32, isa, "gelu" + s, gelu_fast<T>);
  register_kernel("Erf", DType::f32, isa, "erf" + s, erf_fast<T>);
  register_kernel("Exp", DType::f32, isa, "exp" + s, exp_fast<T>);
  register_kernel("Add", DType::f32, isa, "add" + s, binary_fast<T, BinaryOp::add>);
  register_kernel("Mul", DType::f32, isa, "mul" + s, binary_fast<T, BinaryOp::mul>);
}

// Cast f32 -> bf16/f16 and back; casts to or from any other dtype go to the reference kernel.
void cast_from_f32_avx512(const KernelContext& c) {
  const float* x = c.inputs[0].as<float>();
  uint16_t* y = c.outputs[0].as<uint16_t>();
  switch (c.outputs[0].dtype) {
    case DType::bf16: return parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { x86::f32_to_bf16_avx512(x, y, b, e); });
    case DType::f16: return parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { x86::f32_to_f16_avx512(x, y, b, e); });
    default: return find_kernel("Cast", DType::f32, Isa::ref)->fn(c);
  }
}

template <DType From, void (*Widen)(const uint16_t*, float*, int64_t, int64_t)> void cast_half_avx512(const KernelContext& c) {
  if (c.outputs[0].dtype != DType::f32) return find_kernel("Cast", From, Isa::ref)->fn(c);
  const uint16_t* x = c.inputs[0].as<uint16_t>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { Widen(x, y, b, e); });
}

}  // namespace

void register_x86_kernels() {
  register_tier<&kAvx2>(Isa::avx2);
  register_tier<&kAvx512>(Isa::avx512);
  register_kernel("Cast", DType::f32, Isa::avx512, "cast_f32_avx512", cast_from_f32_avx512);
  register_kernel("Cast", DType::bf16, Isa::avx512, "cast_bf16_avx512", cast_half_avx512<DType::bf16, x86::bf16_to_f32_avx512>);
  register_kernel("Cast", DType::f16, Isa::avx512, "cast_f16_avx512", cast_half_avx512<DType::f16, x86::f16_to_f32_avx512>);
}

}  // namespace kiln::kernels
