#include "planner/build_plan.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::planner {

using plan::align_up;
using plan::Plan;
using plan::PlanStep;
using plan::PlanTensor;
using plan::TensorKind;

uint64_t place_lifetimes(std::vector<Lifetime>& lt) {
  // Largest first, each at the lowest offset that does not collide with an already placed tensor whose
  // lifetime overlaps (a standard heuristic for offline arena planning).
  std::vector<size_t> order(lt.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lt[a].bytes > lt[b].bytes; });
  std::vector<size_t> placed;
  uint64_t total = 0;
  for (size_t i : order) {
    std::vector<std::pair<uint64_t, uint64_t>> busy;  // [begin, end) of overlapping tensors
    for (size_t j : placed)
      if (lt[j].first <= lt[i].last && lt[i].first <= lt[j].last)
        busy.emplace_back(lt[j].offset, lt[j].offset + align_up(lt[j].bytes));
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0, need = align_up(lt[i].bytes);
    for (const auto& [b, e] : busy) {
      if (offset + need <= b) break;
      offset = std::max(offset, e);
    }
    lt[i].offset = offset;
    total = std::max(total, offset + need);
    placed.push_back(i);
  }
  return total;
}

uint64_t WeightBlob::place(const void* data, uint64_t size) {
  const std::string_view view(static_cast<const char*>(data), size);
  const size_t h = std::hash<std::string_view>{}(view);
  auto [lo, hi] = by_content.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (it->second + size <= bytes.size() && std::string_view(bytes).substr(it->second, size) == view) return it->second;
  const uint64_t offset = align_up(bytes.size());
  bytes.resize(offset, '\0');
  bytes.append(view);
  by_content.emplace(h, offset);
  return offset;
}

Plan build_plan(const ir::Graph& g, std::string& weights) {
  WeightBlob blob;
  Plan p = build_plan(g, blob);
  weights = std::move(blob.bytes);
  weights.resize(align_up(weights.size()), '\0');
  p.weight_bytes = weights.size();
  return p;
}

Plan build_plan(const ir::Graph& g, WeightBlob& blob) {
  Plan p;
  const int n_steps = static_cast<int>(g.nodes.size());
  std::vector<int> first(g.values.size(), n_steps), last(g.values.size(), -1);
  for (int i = 0; i < n_steps; ++i) {
    for (int in : g.nodes[i].inputs)
      if (in >= 0) last[in] = std::max(last[in], i);
    for (int o : g.nodes[i].outputs) first[o] = std::min(first[o], i);
  }
  for (int in : g.inputs) first[in] = -1;
  for (int o : g.outputs) last[o] = n_steps;  // read after the last step

  // In place: an elementwise step may write its output over its first input when that input dies at
  // this step and has the output's dtype and size (the kernel contract allows exactly this alias).
  std::vector<int> alias(g.values.size(), -1);  // value -> the value whose memory it reuses
  auto root = [&](int v) {
    while (alias[v] >= 0) v = alias[v];
    return v;
  };
  for (int i = 0; i < n_steps; ++i) {
    const ir::Node& n = g.nodes[i];
    const ops::OpSchema* s = ops::find_schema(n.op);
    if (!s || n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] < 0 || n.op == "Identity" || n.op == "Dropout")
      continue;
    if (s->fusion != ops::FusionKind::elementwise && s->fusion != ops::FusionKind::broadcast) continue;
    const int in = n.inputs[0], out = n.outputs[0];
    const ir::Value &vi = g.values[in], &vo = g.values[out];
    if (vi.is_constant() || vi.producer < 0 || last[in] != i || vi.dtype != vo.dtype || vi.shape != vo.shape) continue;
    if (std::count(n.inputs.begin() + 1, n.inputs.end(), in)) continue;  // x op x: keep separate
    alias[out] = in;
    const int r = root(in);
    last[r] = std::max(last[r], last[out]);
  }

  std::vector<Lifetime> lifetimes;
  std::vector<int> lifetime_of(g.values.size(), -1);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const ir::Value& val = g.values[v];
    PlanTensor t;
    t.name = val.name;
    t.dtype = val.dtype;
    t.dims = ir::static_dims(val.shape);
    t.bytes = static_cast<uint64_t>(num_elements(t.dims)) * dtype_size(t.dtype);
    if (val.is_constant()) {
      t.kind = TensorKind::constant;
      t.offset = blob.place(val.constant->data(), t.bytes);
    } else {
      t.kind = val.producer < 0 ? TensorKind::input : TensorKind::activation;
      if (alias[v] < 0) {
        lifetime_of[v] = static_cast<int>(lifetimes.size());
        lifetimes.push_back({first[v], std::max(last[v], first[v]), t.bytes, 0});
      }
    }
    p.tensors.push_back(std::move(t));
  }
  p.arena_bytes = place_lifetimes(lifetimes);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const int r = g.values[v].is_constant() ? -1 : root(static_cast<int>(v));
    if (r >= 0 && lifetime_of[r] >= 0) p.tensors[v].offset = lifetimes[lifetime_of[r]].offset;
  }

  p.weight_bytes = blob.bytes.size();

  for (const ir::Node& n : g.nodes) {
    PlanStep s;
    s.op = n.op;
    s.name = n.name;
    s.dtype = ops::kernel_dtype(g, n);
    s.inputs = n.inputs;
    s.outputs = n.outputs;
    s.attrs = n.attrs;
    p.steps.push_back(std::move(s));
  }
  p.inputs = g.inputs;
  p.outputs = g.outputs;
  return p;
}

}  // namespace kiln::planner
