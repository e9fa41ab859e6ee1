// Reference kernels for Kiln's fused ops: the unfused math written out, accumulating in double.
#include <cmath>
#include <vector>

#include "kernels/attention_layout.h"
#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/onednn/weight_packing.h"
#include "kernels/ref/ref_kernels.h"
#include "kiln/error.h"

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
  if (packed_layout(c.attrs).get_size() > static_cast<size_t>(c.inputs[1].numel()) * sizeof(float))
    fail("the stored weight is smaller than its packed layout says");
  return std::make_shared<Tensor>(unpack_weights(c.attrs, c.inputs[1].data, c.attrs.get_int("trans_b", 0) != 0));
}

void fused_matmul_ref(const KernelContext& c) {
  const TensorArg &A = c.inputs[0], &Y = c.outputs[0];
  TensorArg W = c.inputs[1];
  if (c.state) W.data = static_cast<Tensor*>(c.state)->data();
  const bool tb = c.attrs.get_int("trans_b", 0) != 0;
  const int64_t k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
  const float* bias = c.inputs.size() > 2 && c.inputs[2].present() ? c.inputs[2].as<float>() : nullptr;
  const float* res = c.inputs.size() > 3 && c.inputs[3].present() ? c.inputs[3].as<float>() : nullptr;
  const std::string act = c.attrs.get_string("activation", "none");
  const float* a = A.as<float>();
  const float* w = W.as<float>();
  float* y = Y.as<float>();
  std::vector<double> acc(n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double av = a[i * k + p];
      for (int64_t j = 0; j < n; ++j) acc[j] += av * (tb ? w[j * k + p] : w[p * n + j]);
    }
    for (int64_t j = 0; j < n; ++j) {
      double v = apply_activation(acc[j] + (bias ? bias[j] : 0.0), act);
      y[i * n + j] = static_cast<float>(v + (res ? res[i * n + j] : 0.0));
    }
  }
}

void multi_head_attention_ref(const KernelContext& c) {
  const AttentionLayout l = attention_layout(c);
  const int64_t B = l.batch, Sq = l.sq, Sk = l.sk, H = l.heads, D = l.head_dim, HD = l.hidden;
  const double scale = c.attrs.get_float("scale", 1.0 / std::sqrt(static_cast<double>(D)));
  const bool has_mask = c.inputs.size() > 3 && c.inputs[3].present();
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
        const float* qi = l.q + (b * Sq + i) * l.q_stride + h * D;
        double mx = -INFINITY;
        for (int64_t j = 0; j < Sk; ++j) {
          const float* kj = l.k + (b * Sk + j) * l.kv_stride + h * D;
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
          for (int64_t j = 0; j < Sk; ++j) acc += p[j] * l.v[(b * Sk + j) * l.kv_stride + h * D + d];
          oi[d] = static_cast<float>(acc / sum);
        }
      }
}

}  // namespace

void register_fused_ref_kernels() {
  register_kernel("FusedMatMul", DType::f32, Isa::ref, "fused_matmul_ref_f32", fused_matmul_ref,
                  prepare_fused_matmul_ref);
  register_kernel("MultiHeadAttention", DType::f32, Isa::ref, "multi_head_attention_ref_f32", multi_head_attention_ref);
}

}  // namespace kiln::kernels
