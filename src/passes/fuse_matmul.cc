// GEMM epilogue fusion: MatMul (or Gemm) with a constant 2-D weight, followed by what oneDNN can apply
// while the result is still in registers, becomes one FusedMatMul:
//   + bias (a constant vector)  ->  Gelu / Relu  ->  + residual (a tensor of the output's shape)
// Which ops may follow a GEMM is read from their schemas' fusion kind: only elementwise/broadcast ops
// are candidates, and of those the ones oneDNN implements as post-ops.
#include "ops/op_schema.h"
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

bool elementwise_kind(const std::string& op) {
  const ops::OpSchema* s = ops::find_schema(op);
  return s && (s->fusion == ops::FusionKind::elementwise || s->fusion == ops::FusionKind::broadcast);
}

}  // namespace

size_t fuse_matmul(ir::Graph& g) {
  PatternView pv(g);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& mm = g.nodes[i];
    ir::Node fused;
    fused.op = "FusedMatMul";
    int64_t n = 0;
    if (mm.op == "MatMul") {
      const int w = mm.inputs[1];
      if (!pv.is_constant(w) || g.values[w].shape.size() != 2 || g.values[mm.inputs[0]].shape.size() < 2) continue;
      if (g.values[w].dtype != DType::f32) continue;
      n = g.values[w].shape[1].value;
      fused.inputs = {mm.inputs[0], w};
    } else if (mm.op == "Gemm") {
      const int b = mm.inputs[1];
      if (!pv.is_constant(b) || mm.attrs.get_int("transA", 0) != 0 || mm.attrs.get_float("alpha", 1.0) != 1.0)
        continue;
      const bool tb = mm.attrs.get_int("transB", 0) != 0;
      n = g.values[b].shape[tb ? 0 : 1].value;
      fused.inputs = {mm.inputs[0], b};
      fused.attrs.set_int("trans_b", tb ? 1 : 0);
      if (mm.inputs.size() > 2 && mm.inputs[2] >= 0) {
        const int c = mm.inputs[2];
        // Only a per-column bias: [n] or [1, n]. A [m, 1] C is per row, even when m == n.
        const ir::Shape& cs = g.values[c].shape;
        if (!pv.is_constant(c) || num_elements(ir::static_dims(cs)) != n || mm.attrs.get_float("beta", 1.0) != 1.0 ||
            cs.size() > 2 || (cs.size() == 2 && cs[0].value != 1))
          continue;
        fused.inputs.push_back(c);
      }
    } else {
      continue;
    }
    int last = static_cast<int>(i);
    int cur = mm.outputs[0];
    // + bias (MatMul only; Gemm carried it already).
    if (fused.inputs.size() == 2) {
      if (const ir::Node* add = pv.only_consumer(cur, "Add")) {
        const int bias = PatternView::other_input(*add, cur);
        if (pv.is_constant(bias) && g.values[bias].dtype == DType::f32 &&
            num_elements(ir::static_dims(g.values[bias].shape)) == n && g.values[bias].shape.back().value == n &&
            g.values[bias].shape.size() <= g.values[mm.inputs[0]].shape.size() &&
            elementwise_kind(add->op)) {
          fused.inputs.push_back(bias);
          cur = add->outputs[0];
          last = pv.producer_index(cur);
        }
      }
    }
    // activation
    std::string act = "none";
    const int ci = pv.only_consumer_index(cur);
    if (ci >= 0 && elementwise_kind(g.nodes[ci].op)) {
      const ir::Node& a = g.nodes[ci];
      if (a.op == "Gelu") act = a.attrs.get_string("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu_erf";
      if (a.op == "Relu") act = "relu";
      if (act != "none") {
        cur = a.outputs[0];
        last = ci;
      }
    }
    // + residual: a non-constant tensor of exactly the output's shape, defined before the GEMM's input.
    if (const ir::Node* add = pv.only_consumer(cur, "Add")) {
      const int res = PatternView::other_input(*add, cur);
      if (res >= 0 && !pv.is_constant(res) && g.values[res].shape == g.values[cur].shape &&
          g.values[res].dtype == DType::f32) {
        if (fused.inputs.size() == 2) fused.inputs.push_back(-1);  // no bias
        fused.inputs.push_back(res);
        cur = add->outputs[0];
        last = pv.producer_index(cur);
      }
    }
    // A bare MatMul with a constant weight is fused too: it still gains packed weights.
    fused.attrs.set_string("activation", act);
    fused.name = g.nodes[last].name + "/fused_matmul";
    fused.outputs = g.nodes[last].outputs;
    if (!replace_node(g, last, std::move(fused))) continue;
    pv.refresh();
    ++count;
  }
  return count;
}

size_t fuse_skip_layer_norm(ir::Graph& g) {
  if (!ops::find_schema("SkipLayerNormalization")) return 0;
  PatternView pv(g);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& ln = g.nodes[i];
    if (ln.op != "LayerNormalization" || ln.outputs.size() != 1 || ln.inputs.size() < 2) continue;
    const int64_t rank = static_cast<int64_t>(g.values[ln.inputs[0]].shape.size());
    const int64_t axis = ln.attrs.get_int("axis", -1);
    if (axis != -1 && axis != rank - 1) continue;
    const ir::Node* add = pv.producer(ln.inputs[0], "Add");
    if (!add || pv.only_consumer_index(ln.inputs[0]) != static_cast<int>(i)) continue;
    const int a = add->inputs[0], b = add->inputs[1];
    if (pv.is_constant(a) || pv.is_constant(b) || g.values[a].shape != g.values[b].shape) continue;
    ir::Node skip;
    skip.op = "SkipLayerNormalization";
    skip.name = ln.name + "/skip_layer_norm";
    skip.inputs = {a, b, ln.inputs[1], ln.inputs.size() > 2 ? ln.inputs[2] : -1};
    skip.outputs = ln.outputs;
    skip.attrs.set_float("epsilon", ln.attrs.get_float("epsilon", 1e-5));
    if (!replace_node(g, static_cast<int>(i), std::move(skip))) continue;
    pv.refresh();
    ++count;
  }
  return count;
}

}  // namespace kiln::passes
