#include "plan/cost.h"

#include <vector>

#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::plan {
namespace {

constexpr double kBytesPerSecond = 20e9;  // nominal memory bandwidth of one core

double flops_per_second(DType t) {
  switch (t) {
    case DType::bf16: return 350e9;
    case DType::i8: return 700e9;
    default: return 180e9;
  }
}

const ops::OpSchema& schema_of(const PlanStep& s) {
  const ops::OpSchema* schema = ops::find_schema(s.op);
  if (!schema) fail_internal("plan step '", s.name, "': no schema for op ", s.op);
  return *schema;
}

// The hook's view of a step: its attributes and tensor shapes.
double hook_flops(const ops::OpSchema& schema, const Plan& plan, const PlanStep& s) {
  ops::CostContext ctx{s.attrs, {}, {}};
  for (int in : s.inputs) ctx.inputs.push_back(in < 0 ? nullptr : &plan.tensors[in].dims);
  for (int out : s.outputs) ctx.outputs.push_back(&plan.tensors[out].dims);
  return schema.flops(ctx);
}

}  // namespace

double step_flops(const Plan& plan, size_t step) {
  const PlanStep& s = plan.steps.at(step);
  const ops::OpSchema& schema = schema_of(s);
  if (schema.compute != ops::ComputeKind::memory && schema.flops) return hook_flops(schema, plan, s);
  return s.outputs.empty() ? 0.0 : static_cast<double>(num_elements(plan.tensors[s.outputs[0]].dims));
}

double step_cost(const Plan& plan, size_t step) {
  const PlanStep& s = plan.steps.at(step);
  const ops::OpSchema& schema = schema_of(s);
  double bytes = 0;
  for (int in : s.inputs)
    if (in >= 0) bytes += static_cast<double>(plan.tensors[in].bytes);
  for (int out : s.outputs) bytes += static_cast<double>(plan.tensors[out].bytes);
  const double flops = schema.compute != ops::ComputeKind::memory && schema.flops ? hook_flops(schema, plan, s) : 0.0;
  return flops / flops_per_second(s.dtype) + bytes / kBytesPerSecond;
}

}  // namespace kiln::plan
