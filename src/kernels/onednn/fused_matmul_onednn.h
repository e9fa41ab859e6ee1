// FusedMatMul through a oneDNN matmul primitive: y = act(A x W + bias) + residual in one pass, the
// activation and residual as post-ops. The primitive is made once per step at session load, for the
// step's fixed shapes and dtypes; weights are reordered then into the blocked layout the primitive
// prefers (oneDNN picks it for this CPU), so every run reads packed weights.
//
// One file per precision (the weight's dtype keys the kernel, see ops/fused.cc), each with its own
// prepare and run, sharing the pieces declared here (fused_matmul_onednn.cc):
//   fused_matmul_f32_bf16_onednn.cc  f32, and bf16 (f32 accumulation): oneDNN computes in the weight's
//                                    dtype; the only precisions whose weights are packed at compile time.
//   fused_matmul_f16_onednn.cc       f16 staged through the f32 GEMM.
//   fused_matmul_i8_onednn.cc        s8 x s8 GEMM with A quantised per call, dequantised by post-ops.
#pragma once

#include <dnnl.hpp>

#include <memory>
#include <unordered_map>

#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"

namespace kiln::kernels {

// What a precision decides about its primitive; make_fused_matmul_primitive adds the epilogue.
struct FusedMatMulPrecision {
  dnnl::memory::data_type compute;                     // A and W as the primitive reads them
  dnnl::memory::data_type src = dnnl::memory::data_type::undef;  // A's, when not `compute` (i8: u8 A, s8 W)
  dnnl::primitive_attr attr = user_scratchpad_attr();  // i8: the output scales
  dnnl::post_ops po{};                                 // post-ops that come before the epilogue's (i8: A's scale)
  bool bias_as_post_op = false;                        // a binary_add post-op rather than the bias argument
};

// One step's primitive. Y and the residual are seen as bf16 when they are bf16 and as f32 otherwise
// (f16 activations are staged through f32 by their kernel).
struct FusedMatMulPrimitive {
  int64_t m = 0, k = 0, n = 0;  // A is [m, k] once its leading dims are flattened, W [k, n]
  dnnl::memory::desc src_md, w_plain, bias_md, dst_md, res_md;  // w_plain: W as [k, n] or, trans_b, [n, k]
  dnnl::matmul::primitive_desc pd;
  bool has_bias = false, has_res = false, bias_as_post_op = false;
  int bias_index = -1, res_index = -1;  // positions in the post-op chain, when they are post-ops
};

// The primitive for this step's shapes and epilogue: bias (argument or post-op), activation
// ("activation" attribute) and residual (a binary_add post-op), after `p.po`. Needs only dims, dtypes
// and attributes, so the compiler can make it too (to learn the weight layout to pack into).
FusedMatMulPrimitive make_fused_matmul_primitive(const KernelContext& c, FusedMatMulPrecision p);

// The weights as a step holds them: `bytes` bytes of `dtype` at `data` (owned by `owner` when the
// kernel made them, e.g. f16 widened to f32), plain or in the layout compile-time packing recorded.
struct StoredWeights {
  void* data = nullptr;
  size_t bytes = 0;
  DType dtype = DType::f32;
  std::shared_ptr<void> owner{};
};

// Per-step state; the precisions that stage or quantise derive from it.
struct FusedMatMulState {
  dnnl::stream stream;
  dnnl::matmul prim;
  std::unordered_map<int, dnnl::memory> args;  // keeps the memory objects alive
  ExecArgs exec;
  std::shared_ptr<void> weights;  // the weights in the primitive's layout, when the step's own are not
};

// Fills `st`: the primitive and its stream; the weights, used in place when they are already in the
// primitive's layout and reordered once otherwise; A at `src`, Y at `dst`, the residual at `res` (the
// step's own tensors, or the kernel's staging buffers), the bias and the scratchpad. Arguments the
// kernel put in st.args before are kept; st.exec is ready to run afterwards.
void bind_fused_matmul(FusedMatMulState& st, const FusedMatMulPrimitive& p, const KernelContext& c,
                       const StoredWeights& w, void* src, void* dst, void* res);

// Runs the bound primitive once (the f32 and bf16 kernels are only this).
void run_fused_matmul(const KernelContext& c);

// Per-precision registration, called from register_onednn_fused_matmul().
void register_fused_matmul_f32_bf16_onednn();
void register_fused_matmul_f16_onednn();
void register_fused_matmul_i8_onednn();

}  // namespace kiln::kernels
