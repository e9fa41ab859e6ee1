// FusedMatMul through a oneDNN matmul primitive: y = act(A x W + bias) + residual in one pass, the
// activation and residual as post-ops. The primitive is made once per step at session load, for the
// step's fixed shapes; weights are reordered then into the blocked layout the primitive prefers
// (oneDNN picks it for this CPU), so every run reads packed weights.
#include <cmath>
#include <cstdlib>

#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct FusedMatMulState {
  dnnl::stream stream;
  dnnl::matmul prim;
  std::unordered_map<int, memory> args;
  std::shared_ptr<void> packed;  // weights in the primitive's layout, when it differs from the artifact's
};

dnnl::algorithm activation_algorithm(const std::string& act) {
  if (act == "gelu_erf") return dnnl::algorithm::eltwise_gelu_erf;
  if (act == "gelu_tanh") return dnnl::algorithm::eltwise_gelu_tanh;
  if (act == "relu") return dnnl::algorithm::eltwise_relu;
  return dnnl::algorithm::undef;
}

std::shared_ptr<void> prepare_fused_matmul(const KernelContext& c) {
  try {
    dnnl::engine& eng = onednn_engine();
    const TensorArg &A = c.inputs[0], &W = c.inputs[1], &Y = c.outputs[0];
    const bool tb = c.attrs.get_int("trans_b", 0) != 0;
    const memory::dim k = A.dims.back(), n = Y.dims.back(), m = A.numel() / k;
    const bool has_bias = c.inputs.size() > 2 && c.inputs[2].present();
    const bool has_res = c.inputs.size() > 3 && c.inputs[3].present();

    memory::desc src_md({m, k}, dt::f32, tag::ab);
    memory::desc w_plain({k, n}, dt::f32, tb ? tag::ba : tag::ab);
    memory::desc w_any({k, n}, dt::f32, tag::any);
    memory::desc bias_md({1, n}, dt::f32, tag::ab);
    memory::desc dst_md({m, n}, dt::f32, tag::ab);

    dnnl::post_ops po;
    const dnnl::algorithm alg = activation_algorithm(c.attrs.get_string("activation", "none"));
    if (alg != dnnl::algorithm::undef) po.append_eltwise(1.f, alg, 0.f, 0.f);
    if (has_res) po.append_binary(dnnl::algorithm::binary_add, dst_md);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    dnnl::matmul::desc d = has_bias ? dnnl::matmul::desc(src_md, w_any, bias_md, dst_md)
                                    : dnnl::matmul::desc(src_md, w_any, dst_md);
    dnnl::matmul::primitive_desc pd(d, attr, eng);

    auto st = std::make_shared<FusedMatMulState>();
    st->stream = dnnl::stream(eng);
    st->prim = dnnl::matmul(pd);
    memory w_mem(w_plain, eng, W.data);
    if (pd.weights_desc() != w_plain) {
      const size_t bytes = pd.weights_desc().get_size();
      void* buf = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!buf) fail("out of memory packing weights (", bytes, " bytes)");
      st->packed = std::shared_ptr<void>(buf, [](void* p) { std::free(p); });
      memory packed(pd.weights_desc(), eng, buf);
      dnnl::reorder(w_mem, packed).execute(st->stream, w_mem, packed);
      st->stream.wait();
      w_mem = packed;
    }
    st->args[DNNL_ARG_SRC] = memory(src_md, eng, A.data);
    st->args[DNNL_ARG_WEIGHTS] = w_mem;
    st->args[DNNL_ARG_DST] = memory(dst_md, eng, Y.data);
    if (has_bias) st->args[DNNL_ARG_BIAS] = memory(bias_md, eng, c.inputs[2].data);
    if (has_res) {
      const int index = alg != dnnl::algorithm::undef ? 1 : 0;
      st->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1] = memory(dst_md, eng, c.inputs[3].data);
    }
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

void fused_matmul_f32_onednn(const KernelContext& c) {
  auto* st = static_cast<FusedMatMulState*>(c.state);
  KILN_CHECK(st != nullptr, "FusedMatMul run without prepare");
  st->prim.execute(st->stream, st->args);
  st->stream.wait();
}

}  // namespace

void register_onednn_fused_matmul() {
  register_kernel("FusedMatMul", DType::f32, Isa::avx2, "fused_matmul_f32_onednn", fused_matmul_f32_onednn,
                  prepare_fused_matmul);
}

}  // namespace kiln::kernels
