// LayerNormalization and SkipLayerNormalization, f32, AVX2 / AVX-512 (layer_norm_avx2.cc,
// layer_norm_avx512.cc): registry entries. No ISA flags here, see register_x86.h.
#include <string>

#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/x86/register_x86.h"
#include "kernels/x86/x86_kernels.h"
#include "ops/op_schema.h"

namespace kiln::kernels {
namespace {

using x86::NormRows;
using Rows = void (*)(const NormRows&, int64_t, int64_t);

const float* optional_input(const KernelContext& c, size_t i) {
  return i < c.inputs.size() && c.inputs[i].present() ? c.inputs[i].as<float>() : nullptr;
}
float* optional_output(const KernelContext& c, size_t i) {
  return i < c.outputs.size() && c.outputs[i].present() ? c.outputs[i].as<float>() : nullptr;
}

// LayerNormalization over axes [axis, rank): the normalised block is contiguous for every axis, so
// all axes take the fast path.
template <Rows R> void layer_norm_fast(const KernelContext& c) {
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
  parallel_ranges(rows, n, 1, [&](int64_t b, int64_t e) { R(a, b, e); });
}

template <Rows R> void skip_layer_norm_fast(const KernelContext& c) {
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
  parallel_ranges(c.inputs[0].numel() / n, n, 1, [&](int64_t b, int64_t e) { R(a, b, e); });
}

template <Rows R> void register_tier(Isa isa) {
  const std::string s = std::string("_f32_") + isa_name(isa);
  register_kernel("LayerNormalization", DType::f32, isa, "layer_norm" + s, layer_norm_fast<R>);
  register_kernel("SkipLayerNormalization", DType::f32, isa, "skip_layer_norm" + s, skip_layer_norm_fast<R>);
}

}  // namespace

void register_layer_norm_x86() {
  register_tier<x86::layer_norm_rows_avx2>(Isa::avx2);
  register_tier<x86::layer_norm_rows_avx512>(Isa::avx512);
}

}  // namespace kiln::kernels
