#include "passes/batch_axes.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// How one value's shape follows a bound dim between two specialisations: the single axis whose size is
// value * factor in both (factor > 1: the dim was merged with inner ones, e.g. [batch*seq, hidden]).
struct Follow {
  int axis = -1;
  int64_t factor = 1;
  bool tangled = false;  // the shape changes, but not as one such axis
};

Follow follow(const Dims& a, const Dims& b, int64_t va, int64_t vb) {
  Follow f;
  if (a.size() != b.size()) return {-1, 1, true};
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (f.axis >= 0 || a[i] % va != 0 || b[i] % vb != 0 || a[i] / va != b[i] / vb) return {-1, 1, true};
    f.axis = static_cast<int>(i);
    f.factor = a[i] / va;
  }
  return f;
}

// The graph specialised at `options` and shape-inferred, or false when it does not specialise.
bool specialise(const ir::Graph& unbound, const CompileOptions& options, ir::Graph& out) {
  out = unbound;
  try {
    bind_shapes(out, options);
    fold_constants(out);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::map<std::string, Dims> shapes_by_name(const ir::Graph& g) {
  std::map<std::string, Dims> m;
  for (const ir::Value& v : g.values)
    if (ir::is_static(v.shape)) m[v.name] = ir::static_dims(v.shape);
  return m;
}

// Another size for a probe: one less where that is possible (a longer sequence could run past a
// position table), else one more.
int64_t other_size(int64_t v) { return v > 1 ? v - 1 : v + 1; }

int64_t product(const Dims& d, size_t end) {
  int64_t p = 1;
  for (size_t i = 0; i < end && i < d.size(); ++i) p *= d[i];
  return p;
}

// Integer values of a constant input, or false.
bool constant_ints(const ir::Graph& g, const ir::Node& n, size_t i, std::vector<int64_t>& out) {
  if (i >= n.inputs.size() || n.inputs[i] < 0 || !g.values[n.inputs[i]].is_constant()) return false;
  const Tensor& t = *g.values[n.inputs[i]].constant;
  out.clear();
  if (t.dtype() == DType::i64) out.assign(t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel());
  else if (t.dtype() == DType::i32) out.assign(t.data_as<int32_t>(), t.data_as<int32_t>() + t.numel());
  else return false;
  return true;
}

int64_t norm(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

// Why node `n` mixes rows along the batch axis, or "" when every output row depends only on the same
// input row. `at` gives each value's batch axis (by name).
std::string row_mixing(const ir::Graph& g, const ir::Node& n, const std::map<std::string, Follow>& at) {
  auto ax = [&](size_t i) -> Follow {
    if (i >= n.inputs.size() || n.inputs[i] < 0) return {};
    auto it = at.find(g.values[n.inputs[i]].name);
    return it == at.end() ? Follow{} : it->second;
  };
  auto dims = [&](int id) { return ir::static_dims(g.values[id].shape); };
  auto in_dims = [&](size_t i) { return dims(n.inputs[i]); };
  const Follow out = n.outputs.empty() ? Follow{} : [&] {
    auto it = at.find(g.values[n.outputs[0]].name);
    return it == at.end() ? Follow{} : it->second;
  }();
  std::vector<size_t> batched;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (ax(i).tangled) return "reads a value whose shape follows the batch irregularly";
    if (ax(i).axis >= 0) batched.push_back(i);
  }
  for (int o : n.outputs) {
    auto it = at.find(g.values[o].name);
    if (it != at.end() && it->second.tangled) return "gives the batch an irregular shape";
  }
  if (batched.empty()) return "";
  const std::string& op = n.op;
  const int b0 = ax(batched[0]).axis;
  const size_t r0 = in_dims(batched[0]).size();
  // Right-aligned broadcasting keeps rows apart when every batched input's axis lands on the output's.
  auto aligned = [&]() -> std::string {
    if (out.axis < 0) return "drops the batch axis";
    const size_t out_rank = dims(n.outputs[0]).size();
    for (size_t i : batched) {
      const int64_t lands = static_cast<int64_t>(out_rank) - static_cast<int64_t>(in_dims(i).size()) + ax(i).axis;
      if (lands != out.axis || ax(i).factor != out.factor) return "broadcasts the batch axis against another axis";
    }
    return "";
  };
  auto on_batch = [&](int64_t axis, size_t rank) { return norm(axis, rank) == b0; };
  const ops::OpSchema* schema = ops::find_schema(op);
  if (op == "Transpose") return "";
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") {
    // Row-major reshapes keep row r in place when the dims before the batch axis hold as many elements.
    if (out.axis < 0) return "drops the batch axis";
    if (product(in_dims(0), b0) != product(dims(n.outputs[0]), out.axis)) return "moves the batch axis into another dim";
    return "";
  }
  if (op == "Tile") return out.axis == b0 && out.factor == ax(0).factor ? "" : "repeats along the batch axis";
  if (op == "Concat") {
    for (size_t i : batched)
      if (on_batch(n.attrs.get_int("axis"), in_dims(i).size())) return "concatenates along the batch axis";
    return aligned();
  }
  if (op == "Slice") {
    std::vector<int64_t> starts, ends, axes, steps;
    if (batched != std::vector<size_t>{0}) return "takes its slice bounds from the batch";
    if (!constant_ints(g, n, 1, starts) || !constant_ints(g, n, 2, ends)) return "slices with bounds unknown at compile time";
    if (!constant_ints(g, n, 3, axes))
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (!constant_ints(g, n, 4, steps)) steps.assign(starts.size(), 1);
    const Dims d = in_dims(0);
    for (size_t k = 0; k < axes.size() && k < starts.size() && k < ends.size() && k < steps.size(); ++k)
      if (on_batch(axes[k], r0)) {
        const int64_t start = starts[k] < 0 ? starts[k] + d[b0] : starts[k];
        if (!(start <= 0 && ends[k] >= d[b0] && steps[k] == 1)) return "slices along the batch axis";
      }
    return "";
  }
  if (op == "Gather") {
    if (ax(0).axis >= 0 && on_batch(n.attrs.get_int("axis", 0), r0)) return "gathers along the batch axis";
    if (ax(0).axis >= 0 && ax(1).axis >= 0) return "indexes a batched value with batched indices";
    return "";
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    const int64_t axis = norm(n.attrs.get_int("axis", -1), r0);
    const bool coerce = n.attrs.get_int("coerce_2d", 0) != 0;
    return (coerce ? b0 >= axis : b0 == axis) ? "normalises along the batch axis" : "";
  }
  if (op == "LayerNormalization")
    return b0 >= norm(n.attrs.get_int("axis", -1), r0) ? "normalises along the batch axis" : aligned();
  if (op == "SkipLayerNormalization") return b0 == static_cast<int>(r0) - 1 ? "normalises along the batch axis" : aligned();
  if (op.rfind("Reduce", 0) == 0) {
    std::vector<int64_t> axes;
    if (n.attrs.has("axes")) axes = n.attrs.get_ints("axes");
    else if (n.inputs.size() > 1 && n.inputs[1] >= 0 && !constant_ints(g, n, 1, axes)) return "reduces over axes unknown at compile time";
    if (axes.empty() && n.attrs.get_int("noop_with_empty_axes", 0) != 0) return "";
    if (axes.empty()) return "reduces over every axis, the batch included";
    for (int64_t a : axes)
      if (on_batch(a, r0)) return "reduces along the batch axis";
    return "";
  }
  if (op == "ArgMax" || op == "ArgMin") return on_batch(n.attrs.get_int("axis", 0), r0) ? "reduces along the batch axis" : "";
  if (op == "CumSum") {
    std::vector<int64_t> axis;
    if (!constant_ints(g, n, 1, axis) || axis.size() != 1) return "sums along an axis unknown at compile time";
    return on_batch(axis[0], r0) ? "sums along the batch axis" : "";
  }
  if (op == "MatMul") {
    // A [..., M, K] x B [..., K, N]: the batch may be a broadcast dim, M or N, never K.
    if (ax(0).axis >= 0 && (in_dims(0).size() == 1 || ax(0).axis == static_cast<int>(in_dims(0).size()) - 1))
      return "contracts along the batch axis";
    if (ax(1).axis >= 0 && (in_dims(1).size() == 1 || ax(1).axis == static_cast<int>(in_dims(1).size()) - 2))
      return "contracts along the batch axis";
    return out.axis >= 0 ? "" : "drops the batch axis";
  }
  if (op == "Gemm") {
    if (ax(0).axis >= 0 && ax(0).axis == (n.attrs.get_int("transA", 0) ? 0 : 1)) return "contracts along the batch axis";
    if (ax(1).axis >= 0 && ax(1).axis == (n.attrs.get_int("transB", 0) ? 1 : 0)) return "contracts along the batch axis";
    return out.axis >= 0 ? "" : "drops the batch axis";
  }
  if (op == "FusedMatMul") {
    if (ax(1).axis >= 0 || ax(4).axis >= 0) return "takes its weights from the batch";
    if (ax(0).axis >= 0 && ax(0).axis == static_cast<int>(r0) - 1) return "contracts along the batch axis";
    return aligned();
  }
  if (op == "MultiHeadAttention") {
    for (size_t i : batched)
      if (ax(i).axis != 0 || ax(i).factor != 1) return "attends across the batch axis";
    return "";
  }
  if (op == "Expand" || op == "Where" || op == "Clip" || op == "Cast" || op == "Gelu" || op == "Identity" ||
      op == "Dropout" || (schema && (schema->fusion == ops::FusionKind::elementwise || schema->fusion == ops::FusionKind::broadcast))) {
    // Shape-like operands (Expand's shape, Clip's bounds) are constants here; only data is batched.
    return aligned();
  }
  return "is not known to keep batch rows apart";
}

}  // namespace

BatchAxes find_batch_axes(const ir::Graph& unbound, const CompileOptions& options) {
  BatchAxes r;
  r.inputs.resize(unbound.inputs.size());
  r.outputs.resize(unbound.outputs.size());
  ir::Graph base;
  if (!specialise(unbound, options, base)) {
    r.reason = "the model does not specialise to the compiled shapes";
    return r;
  }
  for (size_t o = 0; o < base.outputs.size(); ++o) r.outputs[o].constant = base.values[base.outputs[o]].is_constant();
  const std::map<std::string, Dims> base_shapes = shapes_by_name(base);
  // Follows every value between the base graph and one specialised with `bound` changed to another size.
  auto probe = [&](int64_t CompileOptions::*bound, std::map<std::string, Follow>& at) {
    const int64_t v = options.*bound;
    if (v <= 0) return false;
    CompileOptions other = options;
    other.*bound = other_size(v);
    ir::Graph g;
    if (!specialise(unbound, other, g)) return false;
    const std::map<std::string, Dims> shapes = shapes_by_name(g);
    for (const auto& [name, d] : base_shapes) {
      auto it = shapes.find(name);
      // A value only one specialisation has (folded in one, computed in the other) tells nothing.
      if (it != shapes.end()) at[name] = follow(d, it->second, v, other.*bound);
    }
    // An output folded to a constant whose value changes with the dim (a Shape of the input, say) cannot
    // be cut or handed out whole for another row count or length.
    for (size_t o = 0; o < base.outputs.size() && o < g.outputs.size(); ++o) {
      const ir::Value &a = base.values[base.outputs[o]], &b = g.values[g.outputs[o]];
      if (a.is_constant() && b.is_constant() &&
          (a.constant->dims() != b.constant->dims() || a.constant->nbytes() != b.constant->nbytes() ||
           std::memcmp(a.constant->data(), b.constant->data(), a.constant->nbytes()) != 0))
        at[a.name] = Follow{-1, 1, true};
    }
    return true;
  };
  auto axis_of = [](const std::map<std::string, Follow>& at, const std::string& name) {
    auto it = at.find(name);
    if (it == at.end() || it->second.axis < 0) return it != at.end() && it->second.tangled ? -2 : -1;
    return it->second.factor == 1 ? it->second.axis : -2;
  };
  std::map<std::string, Follow> seq_at;
  if (probe(&CompileOptions::seq, seq_at)) {
    for (size_t i = 0; i < base.inputs.size(); ++i) r.inputs[i].seq = axis_of(seq_at, base.values[base.inputs[i]].name);
    for (size_t o = 0; o < base.outputs.size(); ++o) r.outputs[o].seq = axis_of(seq_at, base.values[base.outputs[o]].name);
  }
  std::map<std::string, Follow> at;
  if (!probe(&CompileOptions::batch, at)) {
    r.reason = options.batch > 0 ? "the model does not specialise to another batch size, so its batch dim is fixed"
                                 : "no batch size was given";
    return r;
  }
  for (size_t i = 0; i < base.inputs.size(); ++i) r.inputs[i].batch = axis_of(at, base.values[base.inputs[i]].name);
  for (size_t o = 0; o < base.outputs.size(); ++o) r.outputs[o].batch = axis_of(at, base.values[base.outputs[o]].name);
  bool any = false;
  for (const TensorAxes& t : r.inputs) any = any || t.batch >= 0;
  if (!any) {
    r.reason = "no model input has a batch axis";
    return r;
  }
  for (size_t i = 0; i < r.inputs.size(); ++i)
    if (r.inputs[i].batch == -2) {
      r.reason = str("input '", base.values[base.inputs[i]].name, "' has the batch in an irregular shape");
      return r;
    }
  for (size_t o = 0; o < r.outputs.size(); ++o)
    if (r.outputs[o].batch == -2) {
      r.reason = str("output '", base.values[base.outputs[o]].name, "' depends on the batch size other than by one axis of rows");
      return r;
    }
  for (const ir::Node& n : base.nodes) {
    const std::string why = row_mixing(base, n, at);
    if (!why.empty()) {
      r.reason = base.describe(n) + " " + why;
      return r;
    }
  }
  r.rows_independent = true;
  return r;
}

}  // namespace kiln::passes
