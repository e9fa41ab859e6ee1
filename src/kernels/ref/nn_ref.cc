// Reference Softmax, LogSoftmax, LayerNormalization and SkipLayerNormalization (statistics in double).
#include <cmath>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/ref/ref_kernels.h"
#include "ops/op_schema.h"

namespace kiln::kernels {
namespace {

// The axis as [outer, n, inner]. Before opset 13 Softmax flattened everything from `axis` on into one
// row; the frontend marks such nodes with coerce_2d=1.
void split_axis(const KernelContext& c, int64_t& outer, int64_t& n, int64_t& inner) {
  const Dims& d = c.inputs[0].dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", -1), rank, "axis");
  outer = n = inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= d[i];
  if (c.attrs.get_int("coerce_2d", 0)) {
    for (int64_t i = axis; i < rank; ++i) n *= d[i];
  } else {
    n = d[axis];
    for (int64_t i = axis + 1; i < rank; ++i) inner *= d[i];
  }
}

template <bool log_form> void softmax_ref(const KernelContext& c) {
  int64_t outer, n, inner;
  split_axis(c, outer, n, inner);
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      double mx = -INFINITY;
      for (int64_t k = 0; k < n; ++k) mx = std::max<double>(mx, x[base + k * inner]);
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(x[base + k * inner] - mx);
      for (int64_t k = 0; k < n; ++k) {
        double v = x[base + k * inner] - mx;
        y[base + k * inner] = static_cast<float>(log_form ? v - std::log(sum) : std::exp(v) / sum);
      }
    }
}

// y = (v - mean) * inv * scale + bias over one row of n values, statistics in double; returns
// {mean, inv}. Shared by LayerNormalization and SkipLayerNormalization so the fused op gives
// bit-identical results to the Add + LayerNormalization it replaces.
struct RowStats {
  double mean, inv;
};
RowStats normalize_row(const float* row, int64_t n, double eps, const float* scale, const float* bias, float* y) {
  double mean = 0, var = 0;
  for (int64_t k = 0; k < n; ++k) mean += row[k];
  mean /= n;
  for (int64_t k = 0; k < n; ++k) var += (row[k] - mean) * (row[k] - mean);
  var /= n;
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t k = 0; k < n; ++k) y[k] = static_cast<float>((row[k] - mean) * inv * scale[k] + (bias ? bias[k] : 0.0));
  return {mean, inv};
}

void layer_norm_ref(const KernelContext& c) {
  const Dims& d = c.inputs[0].dims;
  const int64_t rank = static_cast<int64_t>(d.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", -1), rank, "axis");
  const double eps = c.attrs.get_float("epsilon", 1e-5);
  int64_t outer = 1, n = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= d[i];
  for (int64_t i = axis; i < rank; ++i) n *= d[i];
  const float* x = c.inputs[0].as<float>();
  const float* scale = c.inputs[1].as<float>();
  const float* bias = c.inputs.size() > 2 && c.inputs[2].present() ? c.inputs[2].as<float>() : nullptr;
  float* y = c.outputs[0].as<float>();
  for (int64_t o = 0; o < outer; ++o) {
    const RowStats st = normalize_row(x + o * n, n, eps, scale, bias, y + o * n);
    if (c.outputs.size() > 1 && c.outputs[1].present()) c.outputs[1].as<float>()[o] = static_cast<float>(st.mean);
    if (c.outputs.size() > 2 && c.outputs[2].present()) c.outputs[2].as<float>()[o] = static_cast<float>(st.inv);
  }
}

// SkipLayerNormalization(x, skip, gamma, beta?, bias?) over the last axis:
//   s = (x + skip) + bias, in fp32 (the optional second output `sum`), y = LayerNorm(s) * gamma + beta.
void skip_layer_norm_ref(const KernelContext& c) {
  const int64_t n = c.inputs[0].dims.empty() ? 1 : c.inputs[0].dims.back();
  if (n == 0) return;
  const int64_t rows = c.inputs[0].numel() / n;
  const double eps = c.attrs.get_float("epsilon", 1e-12);
  const float* x = c.inputs[0].as<float>();
  const float* skip = c.inputs[1].as<float>();
  const float* gamma = c.inputs[2].as<float>();
  const float* beta = c.inputs.size() > 3 && c.inputs[3].present() ? c.inputs[3].as<float>() : nullptr;
  const float* bias = c.inputs.size() > 4 && c.inputs[4].present() ? c.inputs[4].as<float>() : nullptr;
  float* y = c.outputs[0].as<float>();
  float* sum = c.outputs.size() > 1 && c.outputs[1].present() ? c.outputs[1].as<float>() : nullptr;
  std::vector<float> s(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < n; ++k) {
      float v = x[r * n + k] + skip[r * n + k];
      if (bias) v += bias[k];
      s[k] = v;
    }
    if (sum) std::copy(s.begin(), s.end(), sum + r * n);
    normalize_row(s.data(), n, eps, gamma, beta, y + r * n);
  }
}

}  // namespace

void softmax_ref_f32(const KernelContext& c) { softmax_ref<false>(c); }
void layer_norm_ref_f32(const KernelContext& c) { layer_norm_ref(c); }

void register_nn_ref_kernels() {
  register_kernel("Softmax", DType::f32, Isa::ref, "softmax_ref_f32", softmax_ref<false>);
  register_kernel("LogSoftmax", DType::f32, Isa::ref, "log_softmax_ref_f32", softmax_ref<true>);
  register_kernel("LayerNormalization", DType::f32, Isa::ref, "layer_norm_ref_f32", layer_norm_ref);
  register_kernel("SkipLayerNormalization", DType::f32, Isa::ref, "skip_layer_norm_ref_f32", skip_layer_norm_ref);
}

}  // namespace kiln::kernels
