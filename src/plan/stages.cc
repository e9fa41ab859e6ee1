#include "plan/stages.h"

#include <algorithm>

#include "kiln/error.h"
#include "ops/op_schema.h"
#include "plan/cost.h"

namespace kiln::plan {

int count_layers(const Plan& plan) {
  int attention = 0, gemm = 0;
  for (const PlanStep& s : plan.steps) {
    const ops::OpSchema* schema = ops::find_schema(s.op);
    if (!schema) continue;
    attention += schema->compute == ops::ComputeKind::attention;
    gemm += schema->compute == ops::ComputeKind::gemm;
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

}  // namespace kiln::plan
