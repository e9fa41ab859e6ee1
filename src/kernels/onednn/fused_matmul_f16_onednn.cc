// FusedMatMul in f16. This CPU has no fp16 arithmetic: W is widened to f32 once at load, A (and a f16
// residual) per call, and the f32 GEMM runs; the output is narrowed back when it is f16. The accuracy is
// that of fp16 inputs with fp32 accumulation, the speed that of fp32.
#include "kernels/onednn/fused_matmul_onednn.h"
#include "kiln/error.h"
#include "util/aligned.h"
#include "util/half.h"

namespace kiln::kernels {
namespace {

// f32 staging for A, the residual and the output (each only when that tensor is f16).
struct F16State : FusedMatMulState {
  std::shared_ptr<void> a_f32, res_f32, y_f32;
};

std::shared_ptr<void> staging(int64_t elements) { return allocate_aligned(elements * sizeof(float), "FusedMatMul f16 staging"); }

std::shared_ptr<void> prepare_fused_matmul_f16(const KernelContext& c) {
  try {
    const FusedMatMulPrimitive s = make_fused_matmul_primitive(c, FusedMatMulPrecision{dnnl::memory::data_type::f32});
    const TensorArg &A = c.inputs[0], &W = c.inputs[1], &Y = c.outputs[0];
    auto st = std::make_shared<F16State>();
    StoredWeights w{nullptr, static_cast<size_t>(W.numel()) * sizeof(float), DType::f32, staging(W.numel())};
    float* w32 = static_cast<float*>(w.owner.get());
    for (int64_t i = 0; i < W.numel(); ++i) w32[i] = f16_to_f32(W.as<uint16_t>()[i]);
    w.data = w32;
    void* src = A.data;
    void* dst = Y.data;
    void* res = s.has_res ? c.inputs[3].data : nullptr;
    if (A.dtype == DType::f16) src = (st->a_f32 = staging(s.m * s.k)).get();
    if (Y.dtype == DType::f16) dst = (st->y_f32 = staging(s.m * s.n)).get();
    if (s.has_res && c.inputs[3].dtype == DType::f16) res = (st->res_f32 = staging(s.m * s.n)).get();
    bind_fused_matmul(*st, s, c, w, src, dst, res);
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

void widen(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
}

// f16 A / residual / output staged through f32 around the f32 GEMM.
void fused_matmul_f16_onednn(const KernelContext& c) {
  auto* st = static_cast<F16State*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  if (st->a_f32) widen(c.inputs[0].as<uint16_t>(), static_cast<float*>(st->a_f32.get()), c.inputs[0].numel());
  if (st->res_f32) widen(c.inputs[3].as<uint16_t>(), static_cast<float*>(st->res_f32.get()), c.inputs[3].numel());
  execute(st->prim, st->stream, st->exec);
  if (st->y_f32) {
    const float* y = static_cast<const float*>(st->y_f32.get());
    uint16_t* out = c.outputs[0].as<uint16_t>();
    const int64_t n = c.outputs[0].numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(y[i]);
  }
}

}  // namespace

void register_fused_matmul_f16_onednn() {
  register_kernel("FusedMatMul", DType::f16, Isa::avx2, "fused_matmul_f16_onednn", fused_matmul_f16_onednn,
                  prepare_fused_matmul_f16);
}

}  // namespace kiln::kernels
