// Merged Q/K/V projection: the three FusedMatMuls that feed one MultiHeadAttention from the same input
// become one GEMM with the weights (and biases) concatenated along N, [K, 3*hidden]; the attention then
// reads Q, K and V from that one output by column offset (packed_qkv=1). One GEMM three times as wide
// keeps both cores busier than three narrow ones, and the input is read once.
#include <cstring>

#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"
#include "passes/pattern.h"

namespace kiln::passes {
namespace {

// A plain projection: FusedMatMul(A, W constant [K, N] unpacked, bias?) with no activation or residual.
bool plain_projection(const PatternView& pv, const ir::Node* n) {
  if (!n || n->op != "FusedMatMul") return false;
  const ir::Graph& g = const_cast<PatternView&>(pv).graph();
  if (n->attrs.get_string("activation", "none") != "none" || n->attrs.get_int("trans_b", 0) != 0 ||
      n->attrs.has("weight_dims"))
    return false;
  if (n->inputs.size() > 3 && n->inputs[3] >= 0) return false;
  if (!pv.is_constant(n->inputs[1]) || g.values[n->inputs[1]].shape.size() != 2) return false;
  return n->inputs.size() < 3 || n->inputs[2] < 0 || pv.is_constant(n->inputs[2]);
}

}  // namespace

size_t fuse_qkv(ir::Graph& g) {
  PatternView pv(g);
  size_t count = 0;
  for (size_t mi = 0; mi < g.nodes.size(); ++mi) {
    if (g.nodes[mi].op != "MultiHeadAttention" || g.nodes[mi].attrs.get_int("packed_qkv", 0)) continue;
    const ir::Node& mha = g.nodes[mi];
    const int q = mha.inputs[0], k = mha.inputs[1], v = mha.inputs[2];
    if (q == k || k == v || q == v) continue;
    const ir::Node *pq = pv.producer(q), *pk = pv.producer(k), *pv_ = pv.producer(v);
    if (!plain_projection(pv, pq) || !plain_projection(pv, pk) || !plain_projection(pv, pv_)) continue;
    const int a = pq->inputs[0];
    if (pk->inputs[0] != a || pv_->inputs[0] != a) continue;
    bool ok = true;
    for (int out : {q, k, v}) ok = ok && pv.only_consumer_index(out) == static_cast<int>(mi);
    const bool bias = pq->inputs.size() > 2 && pq->inputs[2] >= 0;
    for (const ir::Node* p : {pk, pv_}) ok = ok && (p->inputs.size() > 2 && p->inputs[2] >= 0) == bias;
    const Tensor& wq = *g.values[pq->inputs[1]].constant;
    const Tensor& wk = *g.values[pk->inputs[1]].constant;
    const Tensor& wv = *g.values[pv_->inputs[1]].constant;
    ok = ok && wq.dims() == wk.dims() && wq.dims() == wv.dims() && wq.dtype() == DType::f32;
    if (!ok) continue;

    const int64_t K = wq.dims()[0], N = wq.dims()[1];
    Tensor w(DType::f32, {K, 3 * N});
    for (int64_t r = 0; r < K; ++r)
      for (int j = 0; j < 3; ++j) {
        const Tensor& src = j == 0 ? wq : j == 1 ? wk : wv;
        std::memcpy(w.data_as<float>() + r * 3 * N + j * N, src.data_as<float>() + r * N, N * sizeof(float));
      }
    ir::Node merged;
    merged.op = "FusedMatMul";
    merged.name = mha.name + "/qkv";
    merged.attrs.set_string("activation", "none");
    merged.inputs = {a, g.add_constant(merged.name + ".weight", std::move(w))};
    if (bias) {
      Tensor bcat(DType::f32, {3 * N});
      int j = 0;
      for (const ir::Node* p : {pq, pk, pv_}) {
        const Tensor& b = *g.values[p->inputs[2]].constant;
        if (b.numel() != N) {
          ok = false;
          break;
        }
        std::memcpy(bcat.data_as<float>() + (j++) * N, b.data(), N * sizeof(float));
      }
      if (!ok) continue;
      merged.inputs.push_back(g.add_constant(merged.name + ".bias", std::move(bcat)));
    }
    ir::Value out;
    out.name = merged.name + "_output";
    out.dtype = DType::f32;
    out.shape = g.values[q].shape;
    out.shape.back() = ir::Dim::of(3 * N);
    merged.outputs = {g.add_value(out)};
    // The merged GEMM takes the place of the earliest of the three: the input and constants are defined
    // before it, and the attention comes after all three.
    const int first = std::min({pv.producer_index(q), pv.producer_index(k), pv.producer_index(v)});
    const int merged_out = merged.outputs[0];
    g.nodes[first] = std::move(merged);
    ir::Node& attention = g.nodes[mi];
    attention.inputs[0] = merged_out;
    attention.inputs[1] = attention.inputs[2] = -1;
    attention.attrs.set_int("packed_qkv", 1);
    g.rebuild_producers();
    ops::infer_node(g, first);
    ops::infer_node(g, static_cast<int>(mi));
    eliminate_dead_code(g);
    pv.refresh();
    mi = 0;  // indices moved: rescan (cheap; one attention per layer)
    ++count;
  }
  return count;
}

}  // namespace kiln::passes
