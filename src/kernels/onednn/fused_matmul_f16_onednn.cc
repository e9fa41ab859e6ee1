// FusedMatMul in f16. This CPU has no fp16 arithmetic: W is widened to f32 once at load, A (and a f16
// residual) per call, and the f32 GEMM runs; the output is narrowed back when it is f16. The accuracy is
// that of fp16 inputs with fp32 accumulation, the speed that of fp32.
//
// The conversions are util/half.h's scalar ones at the avx2 tier and the AVX-512 Cast kernels
// (kernels/x86/convert_avx512.cc, bit for bit the same) at the avx512 tier.
#include "kernels/onednn/fused_matmul_onednn.h"
#include "kernels/parallel.h"
#include "kernels/x86/x86_kernels.h"
#include "kiln/error.h"
#include "util/aligned.h"
#include "util/half.h"

namespace kiln::kernels {
namespace {

// f16 <-> f32 over elements [begin, end) for one ISA tier.
struct HalfConversions {
  void (*widen)(const uint16_t* x, float* y, int64_t begin, int64_t end);
  void (*narrow)(const float* x, uint16_t* y, int64_t begin, int64_t end);
};
void widen_scalar(const uint16_t* x, float* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) y[i] = f16_to_f32(x[i]);
}
void narrow_scalar(const float* x, uint16_t* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) y[i] = f32_to_f16(x[i]);
}
constexpr HalfConversions kScalarConversions{widen_scalar, narrow_scalar};
constexpr HalfConversions kAvx512Conversions{x86::f16_to_f32_avx512, x86::f32_to_f16_avx512};

// f32 staging for A, the residual and the output (each only when that tensor is f16).
struct F16State : FusedMatMulState {
  std::shared_ptr<void> a_f32, res_f32, y_f32;
};

std::shared_ptr<void> staging(int64_t elements) { return allocate_aligned(elements * sizeof(float), "FusedMatMul f16 staging"); }

template <const HalfConversions* H> std::shared_ptr<void> prepare_fused_matmul_f16(const KernelContext& c) {
  try {
    const FusedMatMulPrimitive s = make_fused_matmul_primitive(c, FusedMatMulPrecision{dnnl::memory::data_type::f32});
    const TensorArg &A = c.inputs[0], &W = c.inputs[1], &Y = c.outputs[0];
    auto st = std::make_shared<F16State>();
    StoredWeights w{nullptr, static_cast<size_t>(W.numel()) * sizeof(float), DType::f32, staging(W.numel())};
    float* w32 = static_cast<float*>(w.owner.get());
    parallel_flat(W.numel(), [&](int64_t b, int64_t e) { H->widen(W.as<uint16_t>(), w32, b, e); });
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

// Conversions are split over the team whatever their size, as the GEMM between them is.
template <const HalfConversions* H> void widen(const TensorArg& x, void* y) {
  const uint16_t* from = x.as<uint16_t>();
  float* to = static_cast<float*>(y);
  parallel_ranges(x.numel(), 1, 16, [&](int64_t b, int64_t e) { H->widen(from, to, b, e); }, 0);
}

// f16 A / residual / output staged through f32 around the f32 GEMM.
template <const HalfConversions* H> void fused_matmul_f16_onednn(const KernelContext& c) {
  auto* st = static_cast<F16State*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  if (st->a_f32) widen<H>(c.inputs[0], st->a_f32.get());
  if (st->res_f32) widen<H>(c.inputs[3], st->res_f32.get());
  execute(st->prim, st->stream, st->exec);
  if (st->y_f32) {
    const float* y = static_cast<const float*>(st->y_f32.get());
    uint16_t* out = c.outputs[0].as<uint16_t>();
    parallel_ranges(c.outputs[0].numel(), 1, 16, [&](int64_t b, int64_t e) { H->narrow(y, out, b, e); }, 0);
  }
}

}  // namespace

void register_fused_matmul_f16_onednn() {
  register_kernel("FusedMatMul", DType::f16, Isa::avx2, "fused_matmul_f16_onednn", fused_matmul_f16_onednn<&kScalarConversions>,
                  prepare_fused_matmul_f16<&kScalarConversions>);
  register_kernel("FusedMatMul", DType::f16, Isa::avx512, "fused_matmul_f16_avx512_onednn",
                  fused_matmul_f16_onednn<&kAvx512Conversions>, prepare_fused_matmul_f16<&kAvx512Conversions>);
}

}  // namespace kiln::kernels
