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
    // q [B, S, H*D] against k/v [B, S, H*D]: QK^T and PV, 2 * B*S*S*H*D each.
    const Dims& q = ctx.inputs[0].dims;
    const Dims& k = ctx.inputs[1].dims;
    return 4.0 * static_cast<double>(q[0]) * static_cast<double>(q[1]) * static_cast<double>(k[1]) *
           static_cast<double>(q[2]);
  }
  return out;
}

}  // namespace kiln::runtime
