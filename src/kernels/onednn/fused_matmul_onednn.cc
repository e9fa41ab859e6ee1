// The pieces every FusedMatMul precision shares: the primitive with its epilogue, the weights' layout at
// load, and binding the step's tensors. See fused_matmul_onednn.h.
#include "kernels/onednn/fused_matmul_onednn.h"

#include <string>

#include "kernels/onednn/weight_packing.h"
#include "kiln/error.h"
#include "util/aligned.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::algorithm activation_algorithm(const std::string& act) {
  if (act == "gelu_erf") return dnnl::algorithm::eltwise_gelu_erf;
  if (act == "gelu_tanh") return dnnl::algorithm::eltwise_gelu_tanh;
  if (act == "relu") return dnnl::algorithm::eltwise_relu;
  return dnnl::algorithm::undef;
}

dt io_dtype(DType t) { return t == DType::bf16 ? dt::bf16 : dt::f32; }  // f16 is staged through f32

}  // namespace

FusedMatMulPrimitive make_fused_matmul_primitive(const KernelContext& c, FusedMatMulPrecision p) {
  FusedMatMulPrimitive s;
  const TensorArg &A = c.inputs[0], &Y = c.outputs[0];
  const bool tb = c.attrs.get_int("trans_b", 0) != 0;
  s.k = A.dims.back();
  s.n = Y.dims.back();
  s.m = A.numel() / s.k;
  // An omitted optional input has no data and no dims; at compile time (packing) activations have dims
  // but no data yet.
  auto given = [&](size_t i) { return c.inputs.size() > i && (c.inputs[i].present() || !c.inputs[i].dims.empty()); };
  s.has_bias = given(2) && c.inputs[2].numel() == s.n;
  s.has_res = given(3);
  const dt ydt = io_dtype(Y.dtype);
  s.src_md = memory::desc({s.m, s.k}, p.src == dt::undef ? p.compute : p.src, tag::ab);
  s.w_plain = memory::desc({s.k, s.n}, p.compute, tb ? tag::ba : tag::ab);
  s.bias_md = memory::desc({1, s.n}, dt::f32, tag::ab);
  s.dst_md = memory::desc({s.m, s.n}, ydt, tag::ab);
  s.res_md = memory::desc({s.m, s.n}, s.has_res ? io_dtype(c.inputs[3].dtype) : ydt, tag::ab);
  memory::desc w_any({s.k, s.n}, p.compute, tag::any);
  dnnl::post_ops& po = p.po;
  s.bias_as_post_op = s.has_bias && p.bias_as_post_op;
  if (s.bias_as_post_op) {
    s.bias_index = po.len();
    po.append_binary(dnnl::algorithm::binary_add, s.bias_md);
  }
  const dnnl::algorithm alg = activation_algorithm(c.attrs.get_string("activation", "none"));
  if (alg != dnnl::algorithm::undef) po.append_eltwise(1.f, alg, 0.f, 0.f);
  if (s.has_res) {
    s.res_index = po.len();
    po.append_binary(dnnl::algorithm::binary_add, s.res_md);
  }
  p.attr.set_post_ops(po);
  const bool bias_arg = s.has_bias && !s.bias_as_post_op;
  dnnl::matmul::desc d = bias_arg ? dnnl::matmul::desc(s.src_md, w_any, s.bias_md, s.dst_md)
                                  : dnnl::matmul::desc(s.src_md, w_any, s.dst_md);
  s.pd = dnnl::matmul::primitive_desc(d, p.attr, onednn_engine());
  return s;
}

void bind_fused_matmul(FusedMatMulState& st, const FusedMatMulPrimitive& p, const KernelContext& c,
                       const StoredWeights& w, void* src, void* dst, void* res) {
  dnnl::engine& eng = onednn_engine();
  st.stream = dnnl::stream(eng);
  st.prim = dnnl::matmul(p.pd);
  // Weights as stored: packed at compile time (then usually exactly what the primitive wants: used in
  // place), or plain. Anything else is reordered once, here.
  const memory::desc stored = has_packed_layout(c.attrs) ? packed_layout(c.attrs, w.dtype) : p.w_plain;
  if (stored.get_size() > w.bytes)
    fail("the stored weight (", w.bytes, " bytes) is smaller than its layout says (", stored.get_size(), ")");
  memory w_mem(stored, eng, w.data);
  if (p.pd.weights_desc() == stored) {
    st.weights = w.owner;
  } else {
    st.weights = allocate_aligned(p.pd.weights_desc().get_size(), "FusedMatMul weights");
    memory packed(p.pd.weights_desc(), eng, st.weights.get());
    dnnl::reorder(w_mem, packed).execute(st.stream, w_mem, packed);
    st.stream.wait();
    w_mem = packed;
  }
  st.args[DNNL_ARG_SRC] = memory(p.src_md, eng, src);
  st.args[DNNL_ARG_WEIGHTS] = w_mem;
  st.args[DNNL_ARG_DST] = memory(p.dst_md, eng, dst);
  st.args[DNNL_ARG_SCRATCHPAD] = make_scratchpad(p.pd.scratchpad_desc());
  if (p.has_bias) {
    memory bias(p.bias_md, eng, c.inputs[2].data);
    if (p.bias_as_post_op) st.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.bias_index) | DNNL_ARG_SRC_1] = bias;
    else st.args[DNNL_ARG_BIAS] = bias;
  }
  if (p.has_res) st.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.res_index) | DNNL_ARG_SRC_1] = memory(p.res_md, eng, res);
  st.exec = exec_args(st.args);
}

void run_fused_matmul(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  execute(st->prim, st->stream, st->exec);
}

void register_onednn_fused_matmul() {
  register_fused_matmul_f32_bf16_onednn();
  register_fused_matmul_f16_onednn();
  register_fused_matmul_i8_onednn();
}

}  // namespace kiln::kernels
