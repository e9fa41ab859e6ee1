#include "kernels/kernel.h"
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {

size_t prepack_weights(ir::Graph& g) {
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (n.inputs.size() < 2 || n.inputs[1] < 0 || !g.values[n.inputs[1]].is_constant()) continue;
    const kernels::KernelEntry* k = kernels::select_kernel(n.op, ops::kernel_dtype(g, n));
    if (!k || !k->pack) continue;
    kernels::KernelContext ctx{n.attrs, {}, {}};
    for (int in : n.inputs) {
      if (in < 0) {
        ctx.inputs.push_back({});
        continue;
      }
      const ir::Value& v = g.values[in];
      ctx.inputs.push_back({v.dtype, ir::static_dims(v.shape), v.is_constant() ? const_cast<void*>(v.constant->data()) : nullptr});
    }
    for (int o : n.outputs) ctx.outputs.push_back({g.values[o].dtype, ir::static_dims(g.values[o].shape), nullptr});
    Tensor packed;
    ir::Attrs attrs = n.attrs;
    bool done = false;
    try {
      done = k->pack(ctx, packed, attrs);
    } catch (const Error& e) {
      rethrow_with_context(e, g.describe(n), ": packing weights: ");
    }
    if (!done) continue;
    ir::Node fused = n;
    fused.attrs = attrs;
    fused.inputs[1] = g.add_constant(g.values[n.inputs[1]].name + ".packed", std::move(packed));
    if (replace_node(g, static_cast<int>(i), std::move(fused))) ++count;
  }
  return count;
}

}  // namespace kiln::passes
