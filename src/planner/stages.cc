#include "planner/stages.h"

#include <algorithm>

#include "kernels/kernel.h"
#include "kiln/error.h"
#include "runtime/step_cost.h"

namespace kiln::planner {
namespace {

constexpr double kBytesPerSecond = 20e9;  // nominal memory bandwidth of one core

double flops_per_second(DType t) {
  switch (t) {
    case DType::bf16: return 350e9;
    case DType::i8: return 700e9;
    default: return 180e9;
  }
}

}  // namespace

double step_cost(const Plan& plan, size_t i) {
  const PlanStep& s = plan.steps[i];
  ir::Attrs attrs = s.attrs;
  kernels::KernelContext ctx{attrs, {}, {}};
  double bytes = 0;
  for (int in : s.inputs) {
    ctx.inputs.push_back(in < 0 ? kernels::TensorArg{} : kernels::TensorArg{plan.tensors[in].dtype, plan.tensors[in].dims, nullptr});
    if (in >= 0) bytes += static_cast<double>(plan.tensors[in].bytes);
  }
  for (int out : s.outputs) {
    ctx.outputs.push_back({plan.tensors[out].dtype, plan.tensors[out].dims, nullptr});
    bytes += static_cast<double>(plan.tensors[out].bytes);
  }
  const bool compute = s.op == "FusedMatMul" || s.op == "MatMul" || s.op == "Gemm" || s.op == "MultiHeadAttention";
  const double flops = compute ? runtime::step_flops(ctx, s.op) : 0;
  return flops / flops_per_second(s.dtype) + bytes / kBytesPerSecond;
}

int count_layers(const Plan& plan) {
  int attention = 0, gemm = 0;
  for (const PlanStep& s : plan.steps) {
    attention += s.op == "MultiHeadAttention";
    gemm += s.op == "FusedMatMul" || s.op == "MatMul" || s.op == "Gemm";
  }
  return attention ? attention : std::max(gemm, 1);
}

Stages cut_stages(const Plan& plan, int stages) {
  const int layers = count_layers(plan);
  if (stages < 1) fail("the number of pipeline stages must be at least 1, got ", stages);
  // A model folded entirely to constants has no steps: one empty stage hands its constants out.
  if (plan.steps.empty() && stages == 1) return Stages{{0, 0}, {1.0}};
  if (stages > layers) fail(stages, " pipeline stages is more than the model's ", layers, " layers");
  if (static_cast<size_t>(stages) > plan.steps.size()) fail(stages, " pipeline stages is more than the model's ", plan.steps.size(), " steps");
  std::vector<double> prefix(plan.steps.size() + 1, 0.0);
  for (size_t i = 0; i < plan.steps.size(); ++i) prefix[i + 1] = prefix[i] + step_cost(plan, i);
  const double total = prefix.back() > 0 ? prefix.back() : 1;
  Stages st;
  st.bounds.push_back(0);
  for (int s = 1; s < stages; ++s) {
    const double target = total * s / stages;
    size_t b = std::lower_bound(prefix.begin(), prefix.end(), target) - prefix.begin();
    // The nearer of the two boundaries around the target, keeping every stage non-empty.
    if (b > 0 && target - prefix[b - 1] < prefix[b] - target) --b;
    b = std::clamp<size_t>(b, st.bounds.back() + 1, plan.steps.size() - (stages - s));
    st.bounds.push_back(b);
  }
  st.bounds.push_back(plan.steps.size());
  for (int s = 0; s < stages; ++s) st.costs.push_back((prefix[st.bounds[s + 1]] - prefix[st.bounds[s]]) / total);
  return st;
}

}  // namespace kiln::planner
