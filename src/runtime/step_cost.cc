#include "runtime/step_cost.h"

#include "ops/matmul_rules.h"

namespace kiln::runtime {

double step_flops(const kernels::KernelContext& ctx, const std::string& op) {
  if (ctx.outputs.empty()) return 0;
  const double out = static_cast<double>(ctx.outputs[0].numel());
  if ((op == "MatMul" || op == "FusedMatMul") && ctx.inputs.size() >= 2) {
    const Dims& a = ctx.inputs[0].dims;
    return 2.0 * out * static_cast<double>(a.empty() ? 1 : a.back());
  }
  if (op == "Gemm" && ctx.inputs.size() >= 2) {
    const Dims& a = ctx.inputs[0].dims;
    const bool ta = ctx.attrs.get_int("transA", 0) != 0;
    return 2.0 * out * static_cast<double>(ta ? a[0] : a[1]);
  }
  if (op == "MultiHeadAttention" && !ctx.inputs.empty()) {
    // QK^T and PV: 2 * B*Sq*Sk*H*D each (output [B, Sq, H*D]; Sk from K, or = Sq when packed).
    const Dims& o = ctx.outputs[0].dims;
    const double sk = ctx.inputs.size() > 1 && ctx.inputs[1].present() ? static_cast<double>(ctx.inputs[1].dims[1])
                                                                         : static_cast<double>(o[1]);
    return 4.0 * static_cast<double>(o[0]) * static_cast<double>(o[1]) * sk * static_cast<double>(o[2]);
  }
  return out;
}

}  // namespace kiln::runtime
