// Scaled dot-product attention as exporters write it (Hugging Face BERT/RoBERTa/ELECTRA/XLM-R/DistilBERT):
//   q4 = Transpose(Reshape(q, [B,S,H,D]), [0,2,1,3])            (q may be scaled before or after)
//   k4 = Transpose(Reshape(k, ..), [0,2,3,1])  or  Transpose(Transpose(.., [0,2,1,3]), [0,1,3,2])
//   p  = Softmax(MatMul(q4, k4) {/ c | * c} [+ mask], axis=-1)
//   o  = Reshape(Transpose(MatMul(p, v4), [0,2,1,3]), [B,S,H*D])
// becomes MultiHeadAttention(q, k, v, mask) producing o directly. A mask applied with Where
// (DistilBERT's masked_fill) is turned into an additive one by a small Where step first.
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

bool has_perm(const ir::Node* n, std::vector<int64_t> perm) {
  return n && n->op == "Transpose" && n->attrs.has("perm") && n->attrs.get_ints("perm") == perm;
}

// A [B,S,HD] -> [B,S,H,D] reshape: returns the [B,S,HD] source, or -1.
int split_heads_source(const PatternView& pv, int v, int64_t& heads) {
  const ir::Node* r = pv.producer(v, "Reshape");
  if (!r) return -1;
  const ir::Graph& g = const_cast<PatternView&>(pv).graph();
  const ir::Shape& in = g.values[r->inputs[0]].shape;
  const ir::Shape& out = g.values[r->outputs[0]].shape;
  if (in.size() != 3 || out.size() != 4 || in[0] != out[0] || in[1] != out[1] ||
      in[2].value != out[2].value * out[3].value)
    return -1;
  heads = out[2].value;
  return r->inputs[0];
}

// Peels a multiplication/division by a constant scalar off `v`, folding it into `scale`.
int peel_scale(const PatternView& pv, int v, double& scale) {
  const ir::Node* n = pv.producer(v);
  if (!n || (n->op != "Div" && n->op != "Mul") || n->inputs.size() != 2) return v;
  auto s = pv.scalar(n->inputs[1]);
  if (!s && n->op == "Mul") {
    s = pv.scalar(n->inputs[0]);
    if (s) {
      scale *= *s;
      return n->inputs[1];
    }
  }
  if (!s || *s == 0) return v;
  scale *= n->op == "Div" ? 1.0 / *s : *s;
  return n->inputs[0];
}

}  // namespace

size_t fuse_attention(ir::Graph& g) {
  PatternView pv(g);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& sm = g.nodes[i];
    if (sm.op != "Softmax") continue;
    const ir::Shape& ss = g.values[sm.outputs[0]].shape;
    if (ss.size() != 4) continue;
    const int64_t axis = sm.attrs.get_int("axis", -1);
    if (axis != -1 && axis != 3) continue;

    // Scores side: [mask +] [scale] MatMul(q4, k4), or Where(keep_out, fill, [scale] MatMul(q4, k4)).
    double scale = 1.0;
    int scores = sm.inputs[0], mask = -1;
    // masked_fill as Where(condition, fill, scores): becomes an additive mask Where(condition, fill, 0)
    // over the condition's own (un-expanded) shape. Same softmax: fill + score rounds to fill in fp32
    // for any score the model can produce (|score| < 1e31 against fill = finfo.min).
    int where_cond = -1;
    double where_fill = 0;
    if (const ir::Node* w = pv.producer(scores, "Where")) {
      double probe = 1.0;
      auto fill = pv.scalar(w->inputs[1]);
      if (!fill || *fill > -1e30 || !pv.producer(peel_scale(pv, w->inputs[2], probe), "MatMul")) continue;
      where_cond = w->inputs[0];
      // The unexpanded mask: past Expand and bool -> bool Casts (DistilBERT's export has both), which
      // would otherwise build a [batch, heads, seq, seq] condition in every layer.
      for (bool peeled = true; peeled;) {
        peeled = false;
        if (const ir::Node* e = pv.producer(where_cond, "Expand")) where_cond = e->inputs[0], peeled = true;
        if (const ir::Node* c = pv.producer(where_cond, "Cast"))
          if (g.values[c->inputs[0]].dtype == DType::boolean && g.values[where_cond].dtype == DType::boolean)
            where_cond = c->inputs[0], peeled = true;
      }
      if (g.values[where_cond].shape.size() > 4) continue;
      where_fill = *fill;
      scores = w->inputs[2];
    } else if (const ir::Node* add = pv.producer(scores, "Add")) {
      for (int k = 0; k < 2 && mask < 0; ++k) {
        double probe = 1.0;
        if (pv.producer(peel_scale(pv, add->inputs[k], probe), "MatMul")) {
          mask = add->inputs[1 - k];
          scores = add->inputs[k];
        }
      }
      if (mask < 0) continue;
      if (g.values[mask].dtype != DType::f32 || g.values[mask].shape.size() > 4) continue;
    }
    scores = peel_scale(pv, scores, scale);
    const ir::Node* qk = pv.producer(scores, "MatMul");
    if (!qk) continue;
    int q4 = peel_scale(pv, qk->inputs[0], scale);
    const ir::Node* qt = pv.producer(q4);
    if (!has_perm(qt, {0, 2, 1, 3})) continue;
    int64_t heads = 0, heads_k = 0, heads_v = 0;
    int q = split_heads_source(pv, qt->inputs[0], heads);
    // K: one transpose [0,2,3,1] or two ([0,2,1,3] then [0,1,3,2]).
    const ir::Node* kt = pv.producer(qk->inputs[1]);
    int k = -1;
    if (has_perm(kt, {0, 2, 3, 1})) {
      k = split_heads_source(pv, kt->inputs[0], heads_k);
    } else if (has_perm(kt, {0, 1, 3, 2})) {
      const ir::Node* kt0 = pv.producer(kt->inputs[0]);
      if (has_perm(kt0, {0, 2, 1, 3})) k = split_heads_source(pv, kt0->inputs[0], heads_k);
    }
    // Output side: MatMul(p, v4) -> Transpose [0,2,1,3] -> Reshape [B,S,HD].
    const ir::Node* pvm = pv.only_consumer(sm.outputs[0], "MatMul");
    if (q < 0 || k < 0 || !pvm || pvm->inputs[0] != sm.outputs[0] || heads != heads_k) continue;
    const ir::Node* vt = pv.producer(pvm->inputs[1]);
    if (!has_perm(vt, {0, 2, 1, 3})) continue;
    const int v = split_heads_source(pv, vt->inputs[0], heads_v);
    const ir::Node* ot = pv.only_consumer(pvm->outputs[0], "Transpose");
    if (v < 0 || heads_v != heads || !has_perm(ot, {0, 2, 1, 3})) continue;
    const int oi = pv.only_consumer_index(ot->outputs[0]);
    if (oi < 0 || g.nodes[oi].op != "Reshape") continue;
    const ir::Shape& out = g.values[g.nodes[oi].outputs[0]].shape;
    if (out != g.values[q].shape) continue;

    ir::Node mha;
    mha.op = "MultiHeadAttention";
    mha.name = g.nodes[oi].name + "/attention";
    mha.inputs = {q, k, v};
    mha.attrs.set_int("num_heads", heads);
    mha.attrs.set_float("scale", scale);
    int at = oi;
    if (where_cond >= 0) {
      // The additive mask is one new (small) step just before the attention.
      ir::Node to_bias;
      to_bias.op = "Where";
      to_bias.name = mha.name + "/mask_bias";
      Tensor fill(DType::f32, {}), zero(DType::f32, {});
      fill.data_as<float>()[0] = static_cast<float>(where_fill);
      to_bias.inputs = {where_cond, g.add_constant(to_bias.name + ".fill", std::move(fill)),
                        g.add_constant(to_bias.name + ".zero", std::move(zero))};
      ir::Value bias;
      bias.name = to_bias.name + "_output";
      to_bias.outputs = {g.add_value(bias)};
      mask = to_bias.outputs[0];
      g.nodes.insert(g.nodes.begin() + oi, std::move(to_bias));
      g.rebuild_producers();
      try {
        ops::infer_node(g, oi);
      } catch (const Error&) {
        g.nodes.erase(g.nodes.begin() + oi);
        g.rebuild_producers();
        continue;
      }
      at = oi + 1;
    }
    if (mask >= 0) mha.inputs.push_back(mask);
    mha.outputs = g.nodes[at].outputs;
    if (!replace_node(g, at, std::move(mha))) {
      if (where_cond >= 0) {
        g.nodes.erase(g.nodes.begin() + oi);
        g.rebuild_producers();
      }
      continue;
    }
    pv.refresh();
    ++count;
  }
  return count;
}

}  // namespace kiln::passes
