// LayerNorm decomposed by exporters before opset 17 becomes one LayerNormalization node:
//   m = ReduceMean(x, [-1]); d = x - m; v = ReduceMean(d^2, [-1]); y = d / sqrt(v + eps) * gamma + beta
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

// True when the ReduceMean reduces exactly the last axis, keeping dims.
bool reduces_last_axis(const PatternView& pv, const ir::Node& r) {
  const ir::Graph& g = const_cast<PatternView&>(pv).graph();
  const int64_t rank = static_cast<int64_t>(g.values[r.inputs[0]].shape.size());
  std::vector<int64_t> axes;
  if (r.inputs.size() > 1 && r.inputs[1] >= 0) {
    if (!pv.is_constant(r.inputs[1])) return false;
    const Tensor& t = *g.values[r.inputs[1]].constant;
    if (t.dtype() != DType::i64) return false;
    axes.assign(t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel());
  } else if (r.attrs.has("axes")) {
    axes = r.attrs.get_ints("axes");
  }
  return r.attrs.get_int("keepdims", 1) == 1 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

}  // namespace

size_t recognize_layer_norm(ir::Graph& g) {
  PatternView pv(g);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& r1 = g.nodes[i];
    if (r1.op != "ReduceMean" || !reduces_last_axis(pv, r1)) continue;
    const int x = r1.inputs[0], mean = r1.outputs[0];
    const int64_t width = g.values[x].shape.back().value;
    // d = Sub(x, mean), read by Pow(d, 2) and Div(d, s) only.
    const ir::Node* sub = pv.only_consumer(mean, "Sub");
    if (!sub || sub->inputs[0] != x || sub->inputs[1] != mean) continue;
    const int d = sub->outputs[0];
    const ir::Node *pw = nullptr, *div = nullptr;
    if (pv.consumers(d).size() != 2 || pv.is_graph_output(d)) continue;
    for (int c : pv.consumers(d)) {
      if (g.nodes[c].op == "Pow" && g.nodes[c].inputs[0] == d) pw = &g.nodes[c];
      if (g.nodes[c].op == "Div" && g.nodes[c].inputs[0] == d) div = &g.nodes[c];
    }
    if (!pw || !div) continue;
    auto two = pv.scalar(pw->inputs[1]);
    if (!two || *two != 2.0) continue;
    const ir::Node* r2 = pv.only_consumer(pw->outputs[0], "ReduceMean");
    if (!r2 || !reduces_last_axis(pv, *r2)) continue;
    const ir::Node* add_eps = pv.only_consumer(r2->outputs[0], "Add");
    if (!add_eps) continue;
    auto eps = pv.scalar(PatternView::other_input(*add_eps, r2->outputs[0]));
    if (!eps || *eps < 0 || *eps > 1e-2) continue;
    const ir::Node* sq = pv.only_consumer(add_eps->outputs[0], "Sqrt");
    if (!sq || div->inputs[1] != sq->outputs[0]) continue;
    // * gamma + beta, each a constant with `width` elements.
    const ir::Node* mul = pv.only_consumer(div->outputs[0], "Mul");
    if (!mul) continue;
    const int gamma = PatternView::other_input(*mul, div->outputs[0]);
    const ir::Node* add = pv.only_consumer(mul->outputs[0], "Add");
    if (!add) continue;
    const int beta = PatternView::other_input(*add, mul->outputs[0]);
    auto is_vector = [&](int v) {
      return pv.is_constant(v) && g.values[v].dtype == DType::f32 && g.values[v].shape.size() == 1 &&
             g.values[v].shape[0].value == width;
    };
    if (!is_vector(gamma) || !is_vector(beta)) continue;

    const int last = pv.producer_index(add->outputs[0]);
    ir::Node ln;
    ln.op = "LayerNormalization";
    ln.name = g.nodes[last].name + "/layer_norm";
    ln.inputs = {x, gamma, beta};
    ln.outputs = g.nodes[last].outputs;
    ln.attrs.set_int("axis", -1);
    ln.attrs.set_float("epsilon", static_cast<float>(*eps));
    if (!replace_node(g, last, std::move(ln))) continue;
    pv.refresh();
    ++count;
  }
  return count;
}

}  // namespace kiln::passes
