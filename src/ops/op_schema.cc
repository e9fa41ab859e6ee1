#include "ops/op_schema.h"

#include <map>
#include <mutex>

#include "kiln/error.h"

namespace kiln::ops {
namespace {

std::map<std::string, OpSchema>& registry() {
  static std::map<std::string, OpSchema> r;
  return r;
}

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_elementwise_schemas();
    register_shape_schemas();
    register_reduce_schemas();
    register_nn_schemas();
    register_matmul_schemas();
    register_fused_schemas();
  });
}

std::string input_shapes(const ir::Graph& g, const ir::Node& n) {
  std::string s;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (i) s += ", ";
    if (n.inputs[i] < 0) {
      s += "_";
      continue;
    }
    const ir::Value& v = g.values[n.inputs[i]];
    s += std::string(dtype_name(v.dtype)) + ir::shape_to_string(v.shape);
  }
  return s;
}

}  // namespace

InferContext::InferContext(const ir::Graph& g, const ir::Node& n, std::vector<ir::Value*> outputs)
    : graph_(g), node_(n), outputs_(std::move(outputs)) {}

const ir::Value& InferContext::input(size_t i) const {
  if (!has_input(i)) fail("input #", i, " is required");
  return graph_.values[node_.inputs[i]];
}

const Tensor& InferContext::constant(size_t i) const {
  const ir::Value& v = input(i);
  if (!v.is_constant())
    fail("input #", i, " ('", v.name, "') must be a compile-time constant for Kiln to know the output shape");
  return *v.constant;
}

std::vector<int64_t> InferContext::constant_ints(size_t i) const {
  const Tensor& t = constant(i);
  std::vector<int64_t> out;
  if (t.dtype() == DType::i64)
    out.assign(t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel());
  else if (t.dtype() == DType::i32)
    for (int64_t k = 0; k < t.numel(); ++k) out.push_back(t.data_as<int32_t>()[k]);
  else
    fail("input #", i, " must be an integer tensor, got ", dtype_name(t.dtype()));
  return out;
}

void InferContext::set_output(size_t i, DType dtype, const Dims& dims) {
  KILN_CHECK(i < outputs_.size());
  for (int64_t d : dims)
    if (d < 0) fail("computed a negative output dim ", dims_to_string(dims));
  outputs_[i]->dtype = dtype;
  outputs_[i]->shape = ir::shape_of(dims);
}

void register_schema(OpSchema schema) { registry()[schema.name] = std::move(schema); }

const OpSchema* find_schema(const std::string& op) {
  ensure_registered();
  auto it = registry().find(op);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_ops() {
  ensure_registered();
  std::vector<std::string> out;
  for (const auto& [name, s] : registry()) out.push_back(name);
  return out;
}

void infer_node(ir::Graph& g, int node_index) {
  ir::Node& n = g.nodes[node_index];
  const OpSchema* schema = n.domain.empty() ? find_schema(n.op) : nullptr;
  if (!schema) fail(g.describe(n), ": operator is not supported");
  int ni = static_cast<int>(n.inputs.size()), no = static_cast<int>(n.outputs.size());
  if (ni < schema->min_inputs || ni > schema->max_inputs)
    fail(g.describe(n), ": has ", ni, " inputs, expected ", schema->min_inputs,
         schema->max_inputs == schema->min_inputs ? "" : str(" to ", schema->max_inputs));
  if (no < schema->min_outputs || no > schema->max_outputs)
    fail(g.describe(n), ": has ", no, " outputs, expected ", schema->min_outputs,
         schema->max_outputs == schema->min_outputs ? "" : str(" to ", schema->max_outputs));
  std::vector<ir::Value*> outs;
  for (int o : n.outputs) outs.push_back(&g.values[o]);
  InferContext ctx(g, n, outs);
  try {
    schema->infer(ctx);
  } catch (const Error& e) {
    rethrow_with_context(e, g.describe(n), " with inputs (", input_shapes(g, n), "): ");
  }
}

DType kernel_dtype(const ir::Graph& g, const ir::Node& n) {
  const OpSchema* s = find_schema(n.op);
  KILN_CHECK(s != nullptr, n.op);
  if (s->key_input < 0 || static_cast<size_t>(s->key_input) >= n.inputs.size() || n.inputs[s->key_input] < 0)
    return g.values[n.outputs.at(0)].dtype;
  return g.values[n.inputs[s->key_input]].dtype;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(what, " ", axis, " is out of range for rank ", rank);
  return a;
}

Dims broadcast_dims(const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("shapes ", dims_to_string(a), " and ", dims_to_string(b), " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace kiln::ops
