// Load-time check of a plan step against its op's schema: an artifact's checksums prove it was not
// damaged in transit, not that it was made by Kiln. Kernels index their tensors by the shapes the schema
// derives, so a step whose recorded output shapes or dtypes (or kernel dtype) are not what its inputs give
// could make a kernel read or write out of bounds: such an artifact is refused.
#pragma once

#include <cstdint>
#include <string>

#include "plan/plan.h"

namespace kiln::runtime {

// Re-runs the schema's shape rule on the step's input tensors (constants of at most 64 KiB are given
// their values from `weights`, for rules that read them: a Reshape target, Slice starts) and compares
// with the recorded outputs and kernel dtype. Throws InvalidInputError naming the artifact and step.
void check_step(const plan::Plan& plan, const plan::PlanStep& step, const uint8_t* weights, const std::string& artifact);

}  // namespace kiln::runtime
