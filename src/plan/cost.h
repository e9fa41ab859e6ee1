// What one step of a plan costs, read from its op's schema (OpSchema::compute and ::flops): used by the
// pipeline planner (stages.h) to balance stages and by `kiln profile` for GFLOP/s. Shapes only, no data.
#pragma once

#include <cstddef>

#include "plan/plan.h"

namespace kiln::plan {

// Floating-point work of step `step` (a multiply-add counts 2). Arithmetic-bound ops (matrix products,
// attention) are counted exactly by their schema's hook; other ops as one operation per output element
// (they are memory-bound; the number is only indicative).
double step_flops(const Plan& plan, size_t step);

// Estimated seconds of step `step` on one core: the arithmetic work of an arithmetic-bound op at a nominal
// GEMM rate (by dtype: fp32, bf16, int8) plus the bytes it reads and writes at a nominal memory
// bandwidth. Only the ratios between steps matter.
double step_cost(const Plan& plan, size_t step);

}  // namespace kiln::plan
