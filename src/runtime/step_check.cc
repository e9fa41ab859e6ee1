#include "runtime/step_check.h"

#include <cstring>

#include "ir/graph.h"
#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::runtime {
namespace {

constexpr uint64_t kMaxValueBytes = 64 * 1024;

}  // namespace

void check_step(const plan::Plan& plan, const plan::PlanStep& step, const uint8_t* weights, const std::string& artifact) {
  const std::string where = str("artifact '", artifact, "' is damaged: step '", step.name, "' (", step.op, ")");
  ir::Graph g;
  ir::Node n;
  n.op = step.op;
  n.name = step.name;
  n.attrs = step.attrs;
  for (int id : step.inputs) {
    if (id < 0) {
      n.inputs.push_back(-1);
      continue;
    }
    const plan::PlanTensor& t = plan.tensors[id];
    ir::Value v;
    v.name = t.name;
    v.dtype = t.dtype;
    v.shape = ir::shape_of(t.dims);
    if (t.kind == plan::TensorKind::constant && t.bytes <= kMaxValueBytes) {
      auto value = std::make_shared<Tensor>(t.dtype, t.dims);
      if (t.bytes) std::memcpy(value->data(), weights + t.offset, t.bytes);
      v.constant = std::move(value);
    }
    n.inputs.push_back(g.add_value(std::move(v)));
  }
  for (size_t i = 0; i < step.outputs.size(); ++i) {
    ir::Value out;
    out.name = str("out", i);
    n.outputs.push_back(g.add_value(std::move(out)));
  }
  g.add_node(std::move(n));
  try {
    ops::infer_node(g, 0);
  } catch (const Error& e) {
    fail(where, ": its inputs do not fit the op: ", e.what());
  }
  const ir::Node& node = g.nodes[0];
  for (size_t i = 0; i < step.outputs.size(); ++i) {
    const plan::PlanTensor& t = plan.tensors[step.outputs[i]];
    const ir::Value& v = g.values[node.outputs[i]];
    if (!ir::is_static(v.shape) || v.dtype != t.dtype || ir::static_dims(v.shape) != t.dims)
      fail(where, ": output '", t.name, "' is recorded as ", dtype_name(t.dtype), dims_to_string(t.dims), ", but its inputs give ",
           dtype_name(v.dtype), ir::shape_to_string(v.shape));
  }
  if (ops::kernel_dtype(g, node) != step.dtype)
    fail(where, ": its kernel dtype is recorded as ", dtype_name(step.dtype), ", but its tensors give ",
         dtype_name(ops::kernel_dtype(g, node)));
}

}  // namespace kiln::runtime
