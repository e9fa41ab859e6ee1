// FusedMatMul in int8. A (f32, or bf16 under --auto-cast matmult) is quantised per call (kernels/quantize.h: its own absmax, or the calibrated
// scale) to u8 with zero point 128, the operand VNNI's vpdpbusd takes natively against s8 weights; oneDNN
// subtracts the zero point's share (128 x each weight column's sum) in s32, so the accumulator is exactly
// the s8 x s8 one. (With s8 A, oneDNN shifts every A element itself on each call.) Dequantisation: the per-column weight
// scales are oneDNN output scales fixed at load (runtime output scales would make oneDNN 2.6 fall back
// from its brgemm kernel to a 3x slower one), and a dynamic activation scale is a binary_mul post-op by
// a one-element tensor the kernel rewrites each call (static: folded into the output scales). oneDNN adds
// its bias argument to the accumulator before the output scales, so the kernel passes bias / (weight
// scale x activation scale), rewritten each call: the bias as a post-op instead cost 6-17% of the GEMM
// on BERT shapes (measured with a oneDNN micro-benchmark; docs/benchmarks.md).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/onednn/fused_matmul_onednn.h"
#include "kernels/parallel.h"
#include "kernels/quantize.h"
#include "kernels/x86/x86_kernels.h"
#include "util/half.h"
#include "kiln/error.h"
#include "util/aligned.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int kZeroPoint = 128;  // quantize_u8's

struct I8State : FusedMatMulState {
  std::shared_ptr<void> a_q;        // the u8 copy of A (zero point 128)
  std::shared_ptr<void> act_scale;  // A's scale: a one-element post-op input (dynamic)
  float static_scale = 0;           // the calibrated scale; 0: dynamic
  std::shared_ptr<void> bias_scaled;  // the bias argument: bias / (weight scale x activation scale)
  std::vector<float> inv_w_scales;    // 1 / the weight scale, per column
};

std::shared_ptr<void> prepare_fused_matmul_i8(const KernelContext& c) {
  try {
    // Output scales per column: the weight scales (times the static activation scale). Only the
    // session's prepare makes an i8 primitive (i8 weights are never packed at compile time), so the
    // scale values are there.
    KILN_CHECK(c.inputs.size() > 4 && c.inputs[4].present(), "i8 FusedMatMul without weight scales");
    const bool dynamic = c.attrs.get_string("quant", "dynamic") == "dynamic";
    const int64_t n = c.outputs[0].dims.back();
    const float act = dynamic ? 1.f : static_cast<float>(c.attrs.get_float("act_scale", 1.0));
    std::vector<float> scales(c.inputs[4].as<float>(), c.inputs[4].as<float>() + n);
    for (float& v : scales) v *= act;
    FusedMatMulPrecision precision{dt::s8};
    precision.src = dt::u8;
    precision.attr.set_zero_points(DNNL_ARG_SRC, 0, {kZeroPoint});
    precision.attr.set_output_scales(1 << 1, scales);
    const int scale_index = precision.po.len();
    if (dynamic) precision.po.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, 1}, dt::f32, tag::ab));
    const FusedMatMulPrimitive s = make_fused_matmul_primitive(c, precision);

    const TensorArg& W = c.inputs[1];
    auto st = std::make_shared<I8State>();
    st->a_q = allocate_aligned(s.m * s.k, "the u8 copy of FusedMatMul's A");
    st->act_scale = allocate_aligned(sizeof(float), "FusedMatMul's activation scale");
    if (!dynamic) st->static_scale = static_cast<float>(c.attrs.get_float("act_scale", 0));
    if (dynamic)
      st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(scale_index) | DNNL_ARG_SRC_1] =
          memory(memory::desc({1, 1}, dt::f32, tag::ab), onednn_engine(), st->act_scale.get());
    bind_fused_matmul(*st, s, c, StoredWeights{W.data, static_cast<size_t>(W.numel()), DType::i8}, st->a_q.get(),
                      c.outputs[0].data, s.has_res ? c.inputs[3].data : nullptr);
    if (s.has_bias) {
      st->bias_scaled = allocate_aligned(n * sizeof(float), "FusedMatMul's scaled bias");
      st->args[DNNL_ARG_BIAS] = memory(s.bias_md, onednn_engine(), st->bias_scaled.get());
      st->exec = exec_args(st->args);
      for (int64_t j = 0; j < n; ++j) st->inv_w_scales.push_back(1.f / c.inputs[4].as<float>()[j]);
    }
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

// Activation quantisation for one ISA tier, from f32 or bf16 A (a bf16 A, written so by its producer
// under --auto-cast matmult, quantises exactly as its f32 copy would): the scalar rule, or the AVX-512
// version of it.
struct Quantizer {
  float (*absmax)(const float* x, int64_t begin, int64_t end);
  void (*quantize)(const float* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end);
  float (*absmax_bf16)(const uint16_t* x, int64_t begin, int64_t end);
  void (*quantize_bf16)(const uint16_t* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end);
};
float widen(float x) { return x; }
float widen(uint16_t x) { return bf16_to_f32(x); }
template <typename T> float absmax_scalar(const T* x, int64_t begin, int64_t end) {
  float m = 0;
  for (int64_t i = begin; i < end; ++i) m = std::max(m, std::fabs(widen(x[i])));
  return m;
}
template <typename T> void quantize_scalar(const T* x, uint8_t* q, float inv, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) q[i] = quantize_u8(widen(x[i]), inv);
}
constexpr Quantizer kScalarQuantizer{absmax_scalar<float>, quantize_scalar<float>, absmax_scalar<uint16_t>,
                                     quantize_scalar<uint16_t>};
constexpr Quantizer kAvx512Quantizer{x86::absmax_avx512, x86::quantize_u8_avx512, x86::absmax_bf16_avx512,
                                     x86::quantize_u8_bf16_avx512};

// A's scale (from its absmax unless calibrated), and A quantised into q. A is split over the team
// whatever its size: the GEMM wakes the team right after anyway, and the scalar quantiser is slow per
// element.
template <typename T>
float quantize_activations(const T* a, int64_t total, float static_scale, uint8_t* q,
                           float (*absmax_fn)(const T*, int64_t, int64_t),
                           void (*quantize_fn)(const T*, uint8_t*, float, int64_t, int64_t)) {
  float scale = static_scale;
  if (scale == 0) {
    float absmax = 0;
    parallel_ranges(total, 1, 64, [&](int64_t b, int64_t e) {
      const float m = absmax_fn(a, b, e);
#pragma omp critical
      absmax = std::max(absmax, m);
    }, 0);
    scale = quant_scale(absmax);
  }
  const float inv = 1.f / scale;
  parallel_ranges(total, 1, 64, [&](int64_t b, int64_t e) { quantize_fn(a, q, inv, b, e); }, 0);
  return scale;
}

// Quantise A, pass its scale, run the u8 x s8 GEMM.
template <const Quantizer* Q> void fused_matmul_i8_onednn(const KernelContext& c) {
  auto* st = static_cast<I8State*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  const TensorArg& A = c.inputs[0];
  uint8_t* q = static_cast<uint8_t*>(st->a_q.get());
  const float scale =
      A.dtype == DType::bf16
          ? quantize_activations(A.as<uint16_t>(), A.numel(), st->static_scale, q, Q->absmax_bf16, Q->quantize_bf16)
          : quantize_activations(A.as<float>(), A.numel(), st->static_scale, q, Q->absmax, Q->quantize);
  *static_cast<float*>(st->act_scale.get()) = scale;
  if (st->bias_scaled) {
    const float inv = 1.f / scale;
    const float* bias = c.inputs[2].as<float>();
    float* scaled = static_cast<float*>(st->bias_scaled.get());
    for (size_t j = 0; j < st->inv_w_scales.size(); ++j) scaled[j] = bias[j] * st->inv_w_scales[j] * inv;
  }
  execute(st->prim, st->stream, st->exec);
}

}  // namespace

void register_fused_matmul_i8_onednn() {
  register_kernel("FusedMatMul", DType::i8, Isa::avx2, "fused_matmul_i8_onednn", fused_matmul_i8_onednn<&kScalarQuantizer>,
                  prepare_fused_matmul_i8);
  register_kernel("FusedMatMul", DType::i8, Isa::avx512, "fused_matmul_i8_avx512_onednn",
                  fused_matmul_i8_onednn<&kAvx512Quantizer>, prepare_fused_matmul_i8);
}

}  // namespace kiln::kernels
