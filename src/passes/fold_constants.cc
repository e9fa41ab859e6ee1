#include "kernels/kernel.h"
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// Folding must not turn a cheap runtime op into a huge weight (an Expand to [batch, seq, seq], say).
constexpr size_t kMaxFoldedBytes = 64u << 20;

bool can_fold(const ir::Graph& g, const ir::Node& n) {
  if (n.op == "Shape" || n.op == "Size") return true;  // input shapes are static after bind_shapes
  const ops::OpSchema* s = ops::find_schema(n.op);
  if (!s || !s->foldable) return false;
  for (int in : n.inputs)
    if (in >= 0 && !g.values[in].is_constant()) return false;
  size_t bytes = 0;
  for (int o : n.outputs)
    bytes += static_cast<size_t>(num_elements(ir::static_dims(g.values[o].shape))) * dtype_size(g.values[o].dtype);
  return bytes <= kMaxFoldedBytes;
}

void evaluate(ir::Graph& g, const ir::Node& n) {
  DType key = ops::kernel_dtype(g, n);
  const kernels::KernelEntry* k = kernels::find_kernel(n.op, key, kernels::Isa::ref);
  if (!k) fail(g.describe(n), ": no reference kernel for dtype ", dtype_name(key));
  kernels::KernelContext ctx{n.attrs, {}, {}};
  for (int in : n.inputs) {
    if (in < 0) {
      ctx.inputs.push_back({});
      continue;
    }
    const ir::Value& v = g.values[in];
    // Shape/Size only read dims; their input has no data at compile time.
    void* data = v.is_constant() ? const_cast<void*>(v.constant->data()) : nullptr;
    ctx.inputs.push_back({v.dtype, ir::static_dims(v.shape), data});
  }
  std::vector<Tensor> outs;
  for (int o : n.outputs) outs.emplace_back(g.values[o].dtype, ir::static_dims(g.values[o].shape));
  for (Tensor& t : outs) ctx.outputs.push_back({t.dtype(), t.dims(), t.data()});
  try {
    kernels::run_kernel_once(*k, ctx);
  } catch (const Error& e) {
    rethrow_with_context(e, g.describe(n), ": while evaluating at compile time: ");
  }
  for (size_t i = 0; i < n.outputs.size(); ++i)
    g.values[n.outputs[i]].constant = std::make_shared<const Tensor>(std::move(outs[i]));
}

}  // namespace

size_t fold_constants(ir::Graph& g) {
  std::vector<ir::Node> kept;
  size_t folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ops::infer_node(g, static_cast<int>(i));
    if (can_fold(g, g.nodes[i])) {
      evaluate(g, g.nodes[i]);
      ++folded;
    } else {
      kept.push_back(g.nodes[i]);
    }
  }
  g.nodes = std::move(kept);
  g.rebuild_producers();
  return folded;
}

}  // namespace kiln::passes
