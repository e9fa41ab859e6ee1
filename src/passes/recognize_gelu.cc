// GELU written out as elementwise ops, as exporters emit it, becomes one Gelu node:
//   erf form   x * 0.5 * (1 + erf(x / sqrt(2)))                       (also x/sqrt2 as x * 0.7071)
//   tanh form  0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// in any of the association orders PyTorch's exporter produces for the outer products.
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

constexpr double kSqrt2 = 1.4142135623730951, kSqrt2OverPi = 0.7978845608028654;

// From the value `one_plus` = 1 + erf(..) or 1 + tanh(..), find the node computing 0.5 * x * one_plus.
// Returns its index, or -1.
int find_half_x_product(const PatternView& pv, int one_plus, int x) {
  const ir::Graph& g = const_cast<PatternView&>(pv).graph();
  int mi = pv.only_consumer_index(one_plus);
  if (mi < 0 || g.nodes[mi].op != "Mul") return -1;
  const ir::Node& m = g.nodes[mi];
  const int other = PatternView::other_input(m, one_plus);
  if (other < 0) return -1;
  // (x * 0.5) * one_plus  or  (0.5 * x) * one_plus
  if (const ir::Node* h = pv.producer(other, "Mul")) {
    auto s = pv.scalar(PatternView::other_input(*h, x));
    if (PatternView::other_input(*h, x) >= 0 && s && near(*s, 0.5)) return mi;
  }
  // (x * one_plus) * 0.5   or   (0.5 * one_plus) * x
  int next = pv.only_consumer_index(m.outputs[0]);
  if (next < 0 || g.nodes[next].op != "Mul") return -1;
  const int last = PatternView::other_input(g.nodes[next], m.outputs[0]);
  if (other == x) {
    auto s = pv.scalar(last);
    return s && near(*s, 0.5) ? next : -1;
  }
  auto s = pv.scalar(other);
  return s && near(*s, 0.5) && last == x ? next : -1;
}

// 1 + t, where t is the output of the Erf/Tanh node: the Add's output, or -1.
int one_plus(const PatternView& pv, int t) {
  const ir::Node* a = pv.only_consumer(t, "Add");
  if (!a) return -1;
  auto s = pv.scalar(PatternView::other_input(*a, t));
  return s && near(*s, 1.0) ? a->outputs[0] : -1;
}

}  // namespace

size_t recognize_gelu(ir::Graph& g) {
  PatternView pv(g);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    int x = -1;
    std::string form;
    if (n.op == "Erf") {
      // erf(x / sqrt2) or erf(x * (1/sqrt2))
      const ir::Node* d = pv.producer(n.inputs[0]);
      if (!d || d->inputs.size() != 2) continue;
      auto s = pv.scalar(d->inputs[1]);
      if (!s) continue;
      if ((d->op == "Div" && near(*s, kSqrt2)) || (d->op == "Mul" && near(*s, 1.0 / kSqrt2))) x = d->inputs[0];
      form = "none";
    } else if (n.op == "Tanh") {
      // tanh(c * (x + 0.044715 * x^3))
      const ir::Node* m = pv.producer(n.inputs[0], "Mul");
      if (!m) continue;
      int inner = -1;
      for (int k = 0; k < 2; ++k) {
        auto s = pv.scalar(m->inputs[k]);
        if (s && near(*s, kSqrt2OverPi)) inner = m->inputs[1 - k];
      }
      const ir::Node* add = pv.producer(inner, "Add");
      if (!add) continue;
      for (int k = 0; k < 2 && x < 0; ++k) {
        const int cand = add->inputs[k];
        const ir::Node* cube_mul = pv.producer(add->inputs[1 - k], "Mul");
        if (!cube_mul) continue;
        for (int j = 0; j < 2; ++j) {
          auto s = pv.scalar(cube_mul->inputs[j]);
          const ir::Node* pw = pv.producer(cube_mul->inputs[1 - j], "Pow");
          if (s && near(*s, 0.044715) && pw && pw->inputs[0] == cand) {
            auto e = pv.scalar(pw->inputs[1]);
            if (e && near(*e, 3.0)) x = cand;
          }
        }
      }
      form = "tanh";
    } else {
      continue;
    }
    if (x < 0) continue;
    const int op1 = one_plus(pv, n.outputs[0]);
    if (op1 < 0) continue;
    const int last = find_half_x_product(pv, op1, x);
    if (last < 0) continue;
    ir::Node gelu;
    gelu.op = "Gelu";
    gelu.name = g.nodes[last].name + "/gelu";
    gelu.inputs = {x};
    gelu.outputs = g.nodes[last].outputs;
    gelu.attrs.set_string("approximate", form);
    if (!replace_node(g, static_cast<int>(last), std::move(gelu))) continue;
    pv.refresh();
    ++count;
  }
  return count;
}

}  // namespace kiln::passes
