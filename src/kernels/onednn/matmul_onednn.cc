// fp32 MatMul and Gemm through oneDNN's sgemm (row-major). oneDNN picks its own AVX2/AVX-512 code
// path, so these register at the avx2 tier: any x86-64 CPU with AVX2 runs them.
#include <dnnl.h>

#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/matmul_batches.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

void sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0 ? 0.f : beta * c[i * ldc + j];
    return;
  }
  dnnl_status_t st = dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) fail("oneDNN sgemm failed (status ", static_cast<int>(st), ") for m=", m, " n=", n, " k=", k);
}

void matmul_f32_onednn(const KernelContext& ctx) {
  MatMulBatches mb(ctx.inputs[0].dims, ctx.inputs[1].dims);
  const ops::MatMulShape& s = mb.shape();
  const float* a = ctx.inputs[0].as<float>();
  const float* b = ctx.inputs[1].as<float>();
  float* out = ctx.outputs[0].as<float>();
  if (mb.b_shared() && num_elements(s.a_batch) == mb.count()) {
    // [..., m, k] x [k, n]: all of A's rows in one GEMM.
    sgemm('N', 'N', mb.count() * s.m, s.n, s.k, 1.f, a, s.k, b, s.n, 0.f, out, s.n);
    return;
  }
  for (int64_t i = 0; i < mb.count(); ++i) {
    int64_t ai, bi;
    mb.operand_batches(i, ai, bi);
    sgemm('N', 'N', s.m, s.n, s.k, 1.f, a + ai * s.m * s.k, s.k, b + bi * s.k * s.n, s.n, 0.f,
          out + i * s.m * s.n, s.n);
  }
}

void gemm_f32_onednn(const KernelContext& ctx) {
  const TensorArg &A = ctx.inputs[0], &B = ctx.inputs[1], &Y = ctx.outputs[0];
  const bool ta = ctx.attrs.get_int("transA", 0) != 0, tb = ctx.attrs.get_int("transB", 0) != 0;
  const int64_t m = Y.dims[0], n = Y.dims[1], k = ta ? A.dims[0] : A.dims[1];
  const float alpha = static_cast<float>(ctx.attrs.get_float("alpha", 1.0));
  float beta = static_cast<float>(ctx.attrs.get_float("beta", 1.0));
  float* y = Y.as<float>();
  if (ctx.inputs.size() > 2 && ctx.inputs[2].present() && beta != 0.f) {
    // Y starts as broadcast C; sgemm then accumulates alpha*A*B onto beta*Y.
    const TensorArg& C = ctx.inputs[2];
    Broadcaster bc(Y.dims, {C.dims});
    int64_t off[1];
    for (int64_t r = 0; r < bc.rows(); ++r) {
      bc.offsets(r, off);
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = C.as<float>()[off[0] + j * bc.inner_stride(0)];
    }
  } else {
    beta = 0.f;
  }
  sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, A.as<float>(), ta ? m : k, B.as<float>(), tb ? k : n,
        beta, y, n);
}

}  // namespace

void register_onednn_fused_matmul();
void register_onednn_attention();

void register_onednn_kernels() {
  register_kernel("MatMul", DType::f32, Isa::avx2, "matmul_f32_onednn", matmul_f32_onednn);
  register_kernel("Gemm", DType::f32, Isa::avx2, "gemm_f32_onednn", gemm_f32_onednn);
  register_onednn_fused_matmul();
  register_onednn_attention();
}

}  // namespace kiln::kernels
