// Reference MatMul and Gemm: a double accumulator per output row, i-k-j loop order.
#include <vector>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/matmul_batches.h"
#include "kernels/ref/ref_kernels.h"

namespace kiln::kernels {
namespace {

void gemm_rows_ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
                   const float* b, int64_t b_row, int64_t b_col, float* c, double alpha,
                   const float* bias, int64_t bias_row, int64_t bias_col, double beta) {
  std::vector<double> acc(n);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double av = a[i * a_row + p * a_col];
      const float* brow = b + p * b_row;
      for (int64_t j = 0; j < n; ++j) acc[j] += av * brow[j * b_col];
    }
    for (int64_t j = 0; j < n; ++j)
      c[i * n + j] = static_cast<float>(alpha * acc[j] + (bias ? beta * bias[i * bias_row + j * bias_col] : 0.0));
  }
}

void matmul_ref(const KernelContext& c) {
  MatMulBatches mb(c.inputs[0].dims, c.inputs[1].dims);
  const float* a = c.inputs[0].as<float>();
  const float* b = c.inputs[1].as<float>();
  float* out = c.outputs[0].as<float>();
  const ops::MatMulShape& s = mb.shape();
  for (int64_t i = 0; i < mb.count(); ++i) {
    int64_t ai, bi;
    mb.operand_batches(i, ai, bi);
    gemm_rows_ref(s.m, s.n, s.k, a + ai * s.m * s.k, s.k, 1, b + bi * s.k * s.n, s.n, 1,
                  out + i * s.m * s.n, 1.0, nullptr, 0, 0, 0.0);
  }
}

void gemm_ref(const KernelContext& c) {
  const TensorArg &A = c.inputs[0], &B = c.inputs[1], &Y = c.outputs[0];
  const bool ta = c.attrs.get_int("transA", 0) != 0, tb = c.attrs.get_int("transB", 0) != 0;
  const int64_t m = Y.dims[0], n = Y.dims[1], k = ta ? A.dims[0] : A.dims[1];
  const float* bias = nullptr;
  int64_t bias_row = 0, bias_col = 0;
  if (c.inputs.size() > 2 && c.inputs[2].present()) {
    const Dims& cd = c.inputs[2].dims;
    bias = c.inputs[2].as<float>();
    // Broadcast C ([n], [1,n], [m,1], [m,n] or scalar) by strides.
    const int64_t rows = cd.size() == 2 ? cd[0] : 1, cols = cd.empty() ? 1 : cd.back();
    bias_row = rows == 1 ? 0 : cols;
    bias_col = cols == 1 ? 0 : 1;
  }
  gemm_rows_ref(m, n, k, A.as<float>(), ta ? 1 : k, ta ? m : 1, B.as<float>(), tb ? 1 : n, tb ? k : 1,
                Y.as<float>(), c.attrs.get_float("alpha", 1.0), bias, bias_row, bias_col,
                c.attrs.get_float("beta", 1.0));
}

}  // namespace

void register_matmul_ref_kernels() {
  register_kernel("MatMul", DType::f32, Isa::ref, "matmul_ref_f32", matmul_ref);
  register_kernel("Gemm", DType::f32, Isa::ref, "gemm_ref_f32", gemm_ref);
}

}  // namespace kiln::kernels
