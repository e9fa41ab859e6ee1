// FusedMatMul through a oneDNN matmul primitive: y = act(A x W + bias) + residual in one pass, the
// activation and residual as post-ops. The primitive is made once per step at session load, for the
// step's fixed shapes; weights are reordered then into the blocked layout the primitive prefers
// (oneDNN picks it for this CPU), so every run reads packed weights.
#include <cmath>
#include <cstdlib>

#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kernels/onednn/weight_packing.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct FusedMatMulState {
  dnnl::stream stream;
  dnnl::matmul prim;
  std::unordered_map<int, memory> args;  // keeps the memory objects alive
  ExecArgs exec;
  std::shared_ptr<void> packed;  // weights in the primitive's layout, when it differs from the artifact's
};

dnnl::algorithm activation_algorithm(const std::string& act) {
  if (act == "gelu_erf") return dnnl::algorithm::eltwise_gelu_erf;
  if (act == "gelu_tanh") return dnnl::algorithm::eltwise_gelu_tanh;
  if (act == "relu") return dnnl::algorithm::eltwise_relu;
  return dnnl::algorithm::undef;
}

struct MatMulSetup {
  memory::desc src_md, w_plain, bias_md, dst_md;
  dnnl::matmul::primitive_desc pd;
  bool has_bias = false, has_res = false, has_act = false;
};

// The primitive for this step's shapes and epilogue. Needs only dims and attributes, so the compiler
// can make it too (to learn the weight layout to pack into).
MatMulSetup make_setup(const KernelContext& c) {
  MatMulSetup s;
  const TensorArg &A = c.inputs[0], &Y = c.outputs[0];
  const bool tb = c.attrs.get_int("trans_b", 0) != 0;
  const memory::dim k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
  // An omitted optional input has no data and no dims; at compile time (packing) activations have dims
  // but no data yet.
  auto given = [&](size_t i) { return c.inputs.size() > i && (c.inputs[i].present() || !c.inputs[i].dims.empty()); };
  s.has_bias = given(2) && c.inputs[2].numel() == n;
  s.has_res = given(3);
  s.src_md = memory::desc({m, k}, dt::f32, tag::ab);
  s.w_plain = memory::desc({k, n}, dt::f32, tb ? tag::ba : tag::ab);
  s.bias_md = memory::desc({1, n}, dt::f32, tag::ab);
  s.dst_md = memory::desc({m, n}, dt::f32, tag::ab);
  memory::desc w_any({k, n}, dt::f32, tag::any);
  dnnl::post_ops po;
  const dnnl::algorithm alg = activation_algorithm(c.attrs.get_string("activation", "none"));
  s.has_act = alg != dnnl::algorithm::undef;
  if (s.has_act) po.append_eltwise(1.f, alg, 0.f, 0.f);
  if (s.has_res) po.append_binary(dnnl::algorithm::binary_add, s.dst_md);
  dnnl::primitive_attr attr = user_scratchpad_attr();
  attr.set_post_ops(po);
  dnnl::matmul::desc d = s.has_bias ? dnnl::matmul::desc(s.src_md, w_any, s.bias_md, s.dst_md)
                                    : dnnl::matmul::desc(s.src_md, w_any, s.dst_md);
  s.pd = dnnl::matmul::primitive_desc(d, attr, onednn_engine());
  return s;
}

bool pack_fused_matmul(const KernelContext& c, Tensor& packed, ir::Attrs& attrs) {
  try {
    if (has_packed_layout(c.attrs) || !c.inputs[1].present()) return false;
    MatMulSetup s = make_setup(c);
    const memory::desc want = s.pd.weights_desc();
    if (want == s.w_plain || want.data.format_kind != dnnl_blocked || want.data.extra.flags != 0) return false;
    // Blocked layouts pad K and N up to their block sizes: not worth it for small or skinny weights
    // (a [768, 2] classifier would grow 32x), which are then laid out at load instead.
    if (want.get_size() > s.w_plain.get_size() * 3 / 2) return false;
    packed = Tensor(DType::f32, {static_cast<int64_t>((want.get_size() + 3) / 4)});
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
    // Weights as stored: packed at compile time (then usually exactly what the primitive wants: used in
    // place), or plain. Anything else is reordered once, here.
    const memory::desc stored = has_packed_layout(c.attrs) ? packed_layout(c.attrs) : s.w_plain;
    if (stored.get_size() > static_cast<size_t>(c.inputs[1].numel()) * sizeof(float))
      fail("the stored weight (", c.inputs[1].numel() * 4, " bytes) is smaller than its layout says (", stored.get_size(), ")");
    memory w_mem(stored, eng, c.inputs[1].data);
    if (s.pd.weights_desc() != stored) {
      const size_t bytes = s.pd.weights_desc().get_size();
      void* buf = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!buf) fail("out of memory packing weights (", bytes, " bytes)");
      st->packed = std::shared_ptr<void>(buf, [](void* p) { std::free(p); });
      memory packed(s.pd.weights_desc(), eng, buf);
      dnnl::reorder(w_mem, packed).execute(st->stream, w_mem, packed);
      st->stream.wait();
      w_mem = packed;
    }
    st->args[DNNL_ARG_SRC] = memory(s.src_md, eng, c.inputs[0].data);
    st->args[DNNL_ARG_WEIGHTS] = w_mem;
    st->args[DNNL_ARG_DST] = memory(s.dst_md, eng, c.outputs[0].data);
    st->args[DNNL_ARG_SCRATCHPAD] = make_scratchpad(s.pd.scratchpad_desc());
    if (s.has_bias) st->args[DNNL_ARG_BIAS] = memory(s.bias_md, eng, c.inputs[2].data);
    if (s.has_res)
      st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(s.has_act ? 1 : 0) | DNNL_ARG_SRC_1] = memory(s.dst_md, eng, c.inputs[3].data);
    st->exec = exec_args(st->args);
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

void fused_matmul_f32_onednn(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  execute(st->prim, st->stream, st->exec);
}

}  // namespace

void register_onednn_fused_matmul() {
  register_kernel("FusedMatMul", DType::f32, Isa::avx2, "fused_matmul_f32_onednn", fused_matmul_f32_onednn,
                  prepare_fused_matmul, pack_fused_matmul);
}

}  // namespace kiln::kernels
