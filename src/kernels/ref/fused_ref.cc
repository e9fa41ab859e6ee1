// Reference kernels for Kiln's fused ops: the unfused math written out, accumulating in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_layout.h"
#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/onednn/weight_packing.h"
#include "kernels/quantize.h"
#include "kernels/ref/ref_kernels.h"
#include "kiln/error.h"
#include "util/half.h"

namespace kiln::kernels {

double apply_activation(double x, const std::string& act) {
  if (act == "gelu_erf") return 0.5 * x * (1.0 + std::erf(x * 0.7071067811865476));
  if (act == "gelu_tanh") return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  if (act == "relu") return x > 0 ? x : 0;
  return x;
}

namespace {

// Weights packed at compile time for oneDNN are unpacked once into plain [K, N] (or [N, K]).
std::shared_ptr<void> prepare_fused_matmul_ref(const KernelContext& c) {
  if (!has_packed_layout(c.attrs)) return nullptr;
  const TensorArg& W = c.inputs[1];
  if (packed_layout(c.attrs, W.dtype).get_size() > static_cast<size_t>(W.numel()) * dtype_size(W.dtype))
    fail("the stored weight is smaller than its packed layout says");
  return std::make_shared<Tensor>(unpack_weights(c.attrs, W.data, c.attrs.get_int("trans_b", 0) != 0, W.dtype));
}

// Element i of a float tensor of any of Kiln's float dtypes, widened.
double load(const TensorArg& t, const void* data, int64_t i) {
  switch (t.dtype) {
    case DType::f32: return static_cast<const float*>(data)[i];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::i8: return static_cast<const int8_t*>(data)[i];
    default: fail("FusedMatMul: unexpected dtype ", dtype_name(t.dtype));
  }
}

void store(const TensorArg& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::f32: t.as<float>()[i] = static_cast<float>(v); break;
    case DType::bf16: t.as<uint16_t>()[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::f16: t.as<uint16_t>()[i] = f32_to_f16(static_cast<float>(v)); break;
    default: fail("FusedMatMul: unexpected output dtype ", dtype_name(t.dtype));
  }
}

// y = act(A x W + bias) + residual for every precision (see ops/fused.cc). An i8 weight quantises A
// with the rule of kernels/quantize.h and accumulates exactly in integers; the others accumulate in
// double from their widened values.
void fused_matmul_ref(const KernelContext& c) {
  const TensorArg &A = c.inputs[0], &W = c.inputs[1], &Y = c.outputs[0];
  const void* w = c.state ? static_cast<Tensor*>(c.state)->data() : W.data;
  const bool tb = c.attrs.get_int("trans_b", 0) != 0;
  const int64_t k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
  const float* bias = c.inputs.size() > 2 && c.inputs[2].present() ? c.inputs[2].as<float>() : nullptr;
  const bool has_res = c.inputs.size() > 3 && c.inputs[3].present();
  const std::string act = c.attrs.get_string("activation", "none");
  const bool int8 = W.dtype == DType::i8;
  std::vector<double> a(A.numel());
  std::vector<float> col_scale(n, 1.f);
  if (int8) {
    float scale = static_cast<float>(c.attrs.get_float("act_scale", 0));
    if (c.attrs.get_string("quant", "dynamic") == "dynamic") {
      float absmax = 0;
      for (int64_t i = 0; i < A.numel(); ++i) absmax = std::max(absmax, std::fabs(static_cast<float>(load(A, A.data, i))));
      scale = quant_scale(absmax);
    }
    for (int64_t i = 0; i < A.numel(); ++i) a[i] = quantize_s8(static_cast<float>(load(A, A.data, i)), 1.f / scale);
    for (int64_t j = 0; j < n; ++j) col_scale[j] = scale * c.inputs[4].as<float>()[j];
  } else {
    for (int64_t i = 0; i < A.numel(); ++i) a[i] = load(A, A.data, i);
  }
  std::vector<double> acc(n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double av = a[i * k + p];
      for (int64_t j = 0; j < n; ++j) acc[j] += av * load(W, w, tb ? j * k + p : p * n + j);
    }
    for (int64_t j = 0; j < n; ++j) {
      double v = apply_activation(acc[j] * col_scale[j] + (bias ? bias[j] : 0.0), act);
      store(Y, i * n + j, v + (has_res ? load(c.inputs[3], c.inputs[3].data, i * n + j) : 0.0));
    }
  }
}

void multi_head_attention_ref(const KernelContext& c) {
  const AttentionLayout l = attention_layout(c);
  const int64_t B = l.batch, Sq = l.sq, Sk = l.sk, H = l.heads, D = l.head_dim, HD = l.hidden;
  const double scale = c.attrs.get_float("scale", 1.0 / std::sqrt(static_cast<double>(D)));
  const bool has_mask = c.inputs.size() > 3 && c.inputs[3].present();
  const float *q = l.q_as<float>(), *k = l.k_as<float>(), *v = l.v_as<float>();
  // Mask element offsets for every (b, h, i) row, through broadcasting.
  std::vector<int64_t> row_off;
  int64_t mask_stride = 0;
  if (has_mask) {
    Broadcaster bc({B, H, Sq, Sk}, {c.inputs[3].dims});
    mask_stride = bc.inner_stride(0);
    row_off.resize(bc.rows());
    for (int64_t r = 0; r < bc.rows(); ++r) bc.offsets(r, &row_off[r]);
  }
  float* o = c.outputs[0].as<float>();
  std::vector<double> p(Sk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Sq; ++i) {
        const float* qi = q + (b * Sq + i) * l.q_stride + h * D;
        double mx = -INFINITY;
        for (int64_t j = 0; j < Sk; ++j) {
          const float* kj = k + (b * Sk + j) * l.kv_stride + h * D;
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += static_cast<double>(qi[d]) * kj[d];
          s *= scale;
          if (has_mask) s += c.inputs[3].as<float>()[row_off[(b * H + h) * Sq + i] + j * mask_stride];
          p[j] = s;
          mx = std::max(mx, s);
        }
        double sum = 0;
        for (int64_t j = 0; j < Sk; ++j) sum += (p[j] = std::exp(p[j] - mx));
        float* oi = o + (b * Sq + i) * HD + h * D;
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < Sk; ++j) acc += p[j] * v[(b * Sk + j) * l.kv_stride + h * D + d];
          oi[d] = static_cast<float>(acc / sum);
        }
      }
}

}  // namespace

void register_fused_ref_kernels() {
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::i8})
    register_kernel("FusedMatMul", t, Isa::ref, std::string("fused_matmul_ref_") + dtype_name(t), fused_matmul_ref,
                    prepare_fused_matmul_ref);
  register_kernel("MultiHeadAttention", DType::f32, Isa::ref, "multi_head_attention_ref_f32", multi_head_attention_ref);
}

}  // namespace kiln::kernels
