#include "passes/pattern.h"

#include <algorithm>
#include <cmath>

#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::passes {

void PatternView::refresh() { consumers_ = g_.consumers(); }

const ir::Node* PatternView::producer(int v, const std::string& op) const {
  if (v < 0 || g_.values[v].producer < 0) return nullptr;
  const ir::Node& n = g_.nodes[g_.values[v].producer];
  return op.empty() || n.op == op ? &n : nullptr;
}

bool PatternView::is_graph_output(int v) const {
  return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end();
}

int PatternView::only_consumer_index(int v) const {
  if (v < 0 || consumers_[v].size() != 1 || is_graph_output(v)) return -1;
  return consumers_[v][0];
}

const ir::Node* PatternView::only_consumer(int v, const std::string& op) const {
  int i = only_consumer_index(v);
  return i >= 0 && g_.nodes[i].op == op ? &g_.nodes[i] : nullptr;
}

std::optional<double> PatternView::scalar(int v) const {
  if (!is_constant(v)) return std::nullopt;
  const Tensor& t = *g_.values[v].constant;
  if (t.numel() != 1) return std::nullopt;
  switch (t.dtype()) {
    case DType::f32: return t.data_as<float>()[0];
    case DType::f64: return t.data_as<double>()[0];
    case DType::i64: return static_cast<double>(t.data_as<int64_t>()[0]);
    case DType::i32: return t.data_as<int32_t>()[0];
    default: return std::nullopt;
  }
}

int PatternView::other_input(const ir::Node& n, int known) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == known) return n.inputs[1];
  if (n.inputs[1] == known) return n.inputs[0];
  return -1;
}

bool near(double value, double expected, double rel) {
  return std::fabs(value - expected) <= rel * std::fabs(expected);
}

bool replace_node(ir::Graph& g, int index, ir::Node fused) {
  std::vector<std::pair<DType, ir::Shape>> before;
  for (int o : fused.outputs) before.emplace_back(g.values[o].dtype, g.values[o].shape);
  KILN_CHECK(fused.outputs == g.nodes[index].outputs, "fused node must take over the pattern's outputs");
  ir::Node original = std::move(g.nodes[index]);
  g.nodes[index] = std::move(fused);
  g.rebuild_producers();
  bool same = true;
  try {
    ops::infer_node(g, index);
  } catch (const Error&) {
    same = false;
  }
  for (size_t i = 0; same && i < before.size(); ++i) {
    const ir::Value& v = g.values[g.nodes[index].outputs[i]];
    same = v.dtype == before[i].first && v.shape == before[i].second;
  }
  if (same) return true;
  g.nodes[index] = std::move(original);
  g.rebuild_producers();
  for (size_t i = 0; i < before.size(); ++i) {
    g.values[g.nodes[index].outputs[i]].dtype = before[i].first;
    g.values[g.nodes[index].outputs[i]].shape = before[i].second;
  }
  return false;
}

}  // namespace kiln::passes
