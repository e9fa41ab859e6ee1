// Floating-point work of one step, for GFLOP/s in `kiln profile` (and later the pipeline cost model).
#pragma once

#include <string>

#include "kernels/kernel.h"

namespace kiln::runtime {

// Multiply-adds count 2. Matrix products and attention are counted exactly; other ops as one
// operation per output element (they are memory-bound; the number is only indicative).
double step_flops(const kernels::KernelContext& ctx, const std::string& op);

}  // namespace kiln::runtime
