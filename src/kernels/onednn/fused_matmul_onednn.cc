// FusedMatMul through a oneDNN matmul primitive: y = act(A x W + bias) + residual in one pass, the
// activation and residual as post-ops. The primitive is made once per step at session load, for the
// step's fixed shapes and dtypes; weights are reordered then into the blocked layout the primitive
// prefers (oneDNN picks it for this CPU), so every run reads packed weights.
//
// Precisions (the weight's dtype keys the kernel, see ops/fused.cc):
//   f32   f32 GEMM.
//   bf16  bf16 A and W, f32 accumulation (avx512_bf16's vdpbf16ps), f32 or bf16 output.
//   f16   this CPU has no fp16 arithmetic: W is widened to f32 once at load, A (and a f16 residual)
//         per call, and the f32 GEMM runs; the output is narrowed back when it is f16. The accuracy is
//         that of fp16 inputs with fp32 accumulation, the speed that of fp32.
//   i8    A is quantised to s8 per call (kernels/quantize.h: its own absmax, or the calibrated scale),
//         the s8 x s8 GEMM accumulates in s32 (VNNI). Dequantisation: the per-column weight scales are
//         oneDNN output scales fixed at load (runtime output scales would make oneDNN 2.6 fall back
//         from its brgemm kernel to a 3x slower one), and a dynamic activation scale is a binary_mul
//         post-op by a one-element tensor the kernel rewrites each call (static: folded into the
//         output scales). The bias is a binary_add post-op so that it is added after the scaling.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kernels/onednn/weight_packing.h"
#include "kernels/parallel.h"
#include "kernels/quantize.h"
#include "kernels/x86/x86_kernels.h"
#include "kiln/error.h"
#include "util/aligned.h"
#include "util/half.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// 64-byte aligned buffer owned by the step state.
std::shared_ptr<void> aligned_buffer(size_t bytes) { return allocate_aligned(bytes, "FusedMatMul scratch"); }

struct FusedMatMulState {
  dnnl::stream stream;
  dnnl::matmul prim;
  std::unordered_map<int, memory> args;  // keeps the memory objects alive
  ExecArgs exec;
  std::shared_ptr<void> packed;  // weights in the primitive's layout, when it differs from the artifact's
  // i8: the s8 copy of A, A's scale (a one-element post-op input), the static scale (0: dynamic).
  std::shared_ptr<void> a_q, act_scale;
  float static_scale = 0;
  // f16: f32 staging for A, the residual and the output.
  std::shared_ptr<void> a_f32, res_f32, y_f32;
};

dnnl::algorithm activation_algorithm(const std::string& act) {
  if (act == "gelu_erf") return dnnl::algorithm::eltwise_gelu_erf;
  if (act == "gelu_tanh") return dnnl::algorithm::eltwise_gelu_tanh;
  if (act == "relu") return dnnl::algorithm::eltwise_relu;
  return dnnl::algorithm::undef;
}

struct MatMulSetup {
  memory::desc src_md, w_plain, bias_md, dst_md, res_md;
  dnnl::matmul::primitive_desc pd;
  bool has_bias = false, has_res = false, has_act = false;
  bool bias_as_post_op = false;  // i8: the bias is added after the output scales
  bool dynamic_scale = false;    // i8 dynamic: A's scale is a binary_mul post-op
  int act_index = -1, res_index = -1, bias_index = -1, scale_index = -1;  // post-op positions
};

// The dtype the primitive computes in, for a step whose weight has `w`: f16 runs as f32.
dt compute_dtype(DType w) {
  switch (w) {
    case DType::bf16: return dt::bf16;
    case DType::i8: return dt::s8;
    default: return dt::f32;
  }
}
dt io_dtype(DType t) { return t == DType::bf16 ? dt::bf16 : dt::f32; }  // f16 is staged through f32

// The primitive for this step's shapes, dtypes and epilogue. Needs only dims, dtypes and attributes,
// so the compiler can make it too (to learn the weight layout to pack into).
MatMulSetup make_setup(const KernelContext& c) {
  MatMulSetup s;
  const TensorArg &A = c.inputs[0], &Y = c.outputs[0];
  const DType wt = c.inputs[1].dtype;
  const bool tb = c.attrs.get_int("trans_b", 0) != 0;
  const memory::dim k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
  // An omitted optional input has no data and no dims; at compile time (packing) activations have dims
  // but no data yet.
  auto given = [&](size_t i) { return c.inputs.size() > i && (c.inputs[i].present() || !c.inputs[i].dims.empty()); };
  s.has_bias = given(2) && c.inputs[2].numel() == n;
  s.has_res = given(3);
  const dt cdt = compute_dtype(wt), ydt = io_dtype(Y.dtype);
  s.src_md = memory::desc({m, k}, cdt, tag::ab);
  s.w_plain = memory::desc({k, n}, cdt, tb ? tag::ba : tag::ab);
  s.bias_md = memory::desc({1, n}, dt::f32, tag::ab);
  s.dst_md = memory::desc({m, n}, ydt, tag::ab);
  s.res_md = memory::desc({m, n}, s.has_res ? io_dtype(c.inputs[3].dtype) : ydt, tag::ab);
  memory::desc w_any({k, n}, cdt, tag::any);
  dnnl::primitive_attr attr = user_scratchpad_attr();
  dnnl::post_ops po;
  s.bias_as_post_op = s.has_bias && wt == DType::i8;
  if (wt == DType::i8) {
    // Output scales per column: the weight scales (times the static activation scale). Only the
    // session's prepare makes an i8 primitive (i8 weights are never packed at compile time), so the
    // scale values are there.
    KILN_CHECK(c.inputs.size() > 4 && c.inputs[4].present(), "i8 FusedMatMul without weight scales");
    s.dynamic_scale = c.attrs.get_string("quant", "dynamic") == "dynamic";
    const float act = s.dynamic_scale ? 1.f : static_cast<float>(c.attrs.get_float("act_scale", 1.0));
    std::vector<float> scales(c.inputs[4].as<float>(), c.inputs[4].as<float>() + n);
    for (float& v : scales) v *= act;
    attr.set_output_scales(1 << 1, scales);
    if (s.dynamic_scale) {
      s.scale_index = po.len();
      po.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, 1}, dt::f32, tag::ab));
    }
  }
  if (s.bias_as_post_op) {
    s.bias_index = po.len();
    po.append_binary(dnnl::algorithm::binary_add, s.bias_md);
  }
  const dnnl::algorithm alg = activation_algorithm(c.attrs.get_string("activation", "none"));
  s.has_act = alg != dnnl::algorithm::undef;
  if (s.has_act) {
    s.act_index = po.len();
    po.append_eltwise(1.f, alg, 0.f, 0.f);
  }
  if (s.has_res) {
    s.res_index = po.len();
    po.append_binary(dnnl::algorithm::binary_add, s.res_md);
  }
  attr.set_post_ops(po);
  const bool bias_arg = s.has_bias && !s.bias_as_post_op;
  dnnl::matmul::desc d = bias_arg ? dnnl::matmul::desc(s.src_md, w_any, s.bias_md, s.dst_md)
                                  : dnnl::matmul::desc(s.src_md, w_any, s.dst_md);
  s.pd = dnnl::matmul::primitive_desc(d, attr, onednn_engine());
  return s;
}

bool pack_fused_matmul(const KernelContext& c, Tensor& packed, ir::Attrs& attrs) {
  try {
    const DType wt = c.inputs[1].dtype;
    if (has_packed_layout(c.attrs) || !c.inputs[1].present()) return false;
    if (wt != DType::f32 && wt != DType::bf16) return false;  // f16 is widened and i8 laid out at load
    MatMulSetup s = make_setup(c);
    const memory::desc want = s.pd.weights_desc();
    if (want == s.w_plain || want.data.format_kind != dnnl_blocked || want.data.extra.flags != 0) return false;
    // Blocked layouts pad K and N up to their block sizes: not worth it for small or skinny weights
    // (a [768, 2] classifier would grow 32x), which are then laid out at load instead.
    if (want.get_size() > s.w_plain.get_size() * 3 / 2) return false;
    const size_t esz = dtype_size(wt);
    packed = Tensor(wt, {static_cast<int64_t>((want.get_size() + esz - 1) / esz)});
    dnnl::engine& eng = onednn_engine();
    memory src(s.w_plain, eng, c.inputs[1].data), dst(want, eng, packed.data());
    dnnl::stream st(eng);
    dnnl::reorder(src, dst).execute(st, src, dst);
    st.wait();
    attrs.set_ints("weight_dims", c.inputs[1].dims);
    set_packed_layout(attrs, want);
    return true;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not pack the weights: ", e.what());
  }
}

std::shared_ptr<void> prepare_fused_matmul(const KernelContext& c) {
  try {
    dnnl::engine& eng = onednn_engine();
    MatMulSetup s = make_setup(c);
    auto st = std::make_shared<FusedMatMulState>();
    st->stream = dnnl::stream(eng);
    st->prim = dnnl::matmul(s.pd);
    const TensorArg &A = c.inputs[0], &W = c.inputs[1], &Y = c.outputs[0];
    const int64_t k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
    // Weights as stored: packed at compile time (then usually exactly what the primitive wants: used in
    // place), or plain. Anything else is reordered once, here. f16 weights are widened to f32 first.
    void* w_data = W.data;
    std::shared_ptr<void> widened;
    if (W.dtype == DType::f16) {
      widened = aligned_buffer(W.numel() * sizeof(float));
      float* w32 = static_cast<float*>(widened.get());
      for (int64_t i = 0; i < W.numel(); ++i) w32[i] = f16_to_f32(W.as<uint16_t>()[i]);
      w_data = w32;
    }
    const memory::desc stored = has_packed_layout(c.attrs) ? packed_layout(c.attrs, W.dtype) : s.w_plain;
    if (W.dtype != DType::f16 && stored.get_size() > static_cast<size_t>(W.numel()) * dtype_size(W.dtype))
      fail("the stored weight (", W.numel() * dtype_size(W.dtype), " bytes) is smaller than its layout says (", stored.get_size(), ")");
    memory w_mem(stored, eng, w_data);
    if (s.pd.weights_desc() != stored || widened) {
      st->packed = aligned_buffer(s.pd.weights_desc().get_size());
      memory packed(s.pd.weights_desc(), eng, st->packed.get());
      dnnl::reorder(w_mem, packed).execute(st->stream, w_mem, packed);
      st->stream.wait();
      w_mem = packed;
    }
    void* src = A.data;
    void* dst = Y.data;
    void* res = s.has_res ? c.inputs[3].data : nullptr;
    if (W.dtype == DType::i8) {
      st->a_q = aligned_buffer(m * k);
      st->act_scale = aligned_buffer(sizeof(float));
      if (!s.dynamic_scale) st->static_scale = static_cast<float>(c.attrs.get_float("act_scale", 0));
      src = st->a_q.get();
      if (s.dynamic_scale)
        st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(s.scale_index) | DNNL_ARG_SRC_1] =
            memory(memory::desc({1, 1}, dt::f32, tag::ab), eng, st->act_scale.get());
    }
    if (A.dtype == DType::f16) src = (st->a_f32 = aligned_buffer(m * k * sizeof(float))).get();
    if (Y.dtype == DType::f16) dst = (st->y_f32 = aligned_buffer(m * n * sizeof(float))).get();
    if (s.has_res && c.inputs[3].dtype == DType::f16) res = (st->res_f32 = aligned_buffer(m * n * sizeof(float))).get();
    st->args[DNNL_ARG_SRC] = memory(s.src_md, eng, src);
    st->args[DNNL_ARG_WEIGHTS] = w_mem;
    st->args[DNNL_ARG_DST] = memory(s.dst_md, eng, dst);
    st->args[DNNL_ARG_SCRATCHPAD] = make_scratchpad(s.pd.scratchpad_desc());
    if (s.has_bias) {
      memory bias(s.bias_md, eng, c.inputs[2].data);
      if (s.bias_as_post_op) st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(s.bias_index) | DNNL_ARG_SRC_1] = bias;
      else st->args[DNNL_ARG_BIAS] = bias;
    }
    if (s.has_res) st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(s.res_index) | DNNL_ARG_SRC_1] = memory(s.res_md, eng, res);
    st->exec = exec_args(st->args);
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

void fused_matmul_onednn(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  execute(st->prim, st->stream, st->exec);
}

void widen(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
}

// f16 A / residual / output staged through f32 around the f32 GEMM.
void fused_matmul_f16_onednn(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
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

// Activation quantisation for one ISA tier: the scalar rule, or the AVX-512 version of it.
struct Quantizer {
  float (*absmax)(const float* x, int64_t begin, int64_t end);
  void (*quantize)(const float* x, int8_t* q, float inv_scale, int64_t begin, int64_t end);
};
float absmax_scalar(const float* x, int64_t begin, int64_t end) {
  float m = 0;
  for (int64_t i = begin; i < end; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}
void quantize_scalar(const float* x, int8_t* q, float inv, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) q[i] = quantize_s8(x[i], inv);
}
constexpr Quantizer kScalarQuantizer{absmax_scalar, quantize_scalar};
constexpr Quantizer kAvx512Quantizer{x86::absmax_avx512, x86::quantize_s8_avx512};

// i8: quantise A (scale from its absmax unless calibrated), pass its scale, run the s8 GEMM. A is split
// over the team whatever its size: the GEMM wakes the team right after anyway, and the scalar quantiser
// is slow per element.
template <const Quantizer* Q> void fused_matmul_i8_onednn(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  const float* a = c.inputs[0].as<float>();
  const int64_t total = c.inputs[0].numel();
  float scale = st->static_scale;
  if (scale == 0) {
    float absmax = 0;
    parallel_ranges(total, 1, 64, [&](int64_t b, int64_t e) {
      const float m = Q->absmax(a, b, e);
#pragma omp critical
      absmax = std::max(absmax, m);
    }, 0);
    scale = quant_scale(absmax);
  }
  const float inv = 1.f / scale;
  int8_t* q = static_cast<int8_t*>(st->a_q.get());
  parallel_ranges(total, 1, 64, [&](int64_t b, int64_t e) { Q->quantize(a, q, inv, b, e); }, 0);
  *static_cast<float*>(st->act_scale.get()) = scale;
  execute(st->prim, st->stream, st->exec);
}

}  // namespace

void register_onednn_fused_matmul() {
  register_kernel("FusedMatMul", DType::f32, Isa::avx2, "fused_matmul_f32_onednn", fused_matmul_onednn,
                  prepare_fused_matmul, pack_fused_matmul);
  // oneDNN runs bf16 natively with avx512_bf16 and emulates it on other AVX-512 CPUs.
  register_kernel("FusedMatMul", DType::bf16, Isa::avx512, "fused_matmul_bf16_onednn", fused_matmul_onednn,
                  prepare_fused_matmul, pack_fused_matmul);
  register_kernel("FusedMatMul", DType::f16, Isa::avx2, "fused_matmul_f16_onednn", fused_matmul_f16_onednn,
                  prepare_fused_matmul);
  register_kernel("FusedMatMul", DType::i8, Isa::avx2, "fused_matmul_i8_onednn", fused_matmul_i8_onednn<&kScalarQuantizer>,
                  prepare_fused_matmul);
  register_kernel("FusedMatMul", DType::i8, Isa::avx512, "fused_matmul_i8_avx512_onednn",
                  fused_matmul_i8_onednn<&kAvx512Quantizer>, prepare_fused_matmul);
}

}  // namespace kiln::kernels
