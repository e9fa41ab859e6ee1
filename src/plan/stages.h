// Pipeline stages: the step list cut into N contiguous ranges of balanced estimated cost, for running
// each range on its own core group (`kiln compile --pipeline-cores N`, `EngineOptions::pipeline_stages`).
#pragma once

#include <cstddef>
#include <vector>

#include "plan/plan.h"

namespace kiln::plan {

struct Stages {
  std::vector<size_t> bounds;  // stages + 1 step indices: stage s runs steps [bounds[s], bounds[s+1])
  std::vector<double> costs;   // estimated cost of each stage, as a share of the total (sums to 1)
};
// Balanced cut: the boundary between stages s and s+1 is the step where the running cost first reaches
// (s+1)/N of the total (step costs from plan/cost.h). Throws kiln::Error when `stages` is below 1, above the model's layer count
// (its attention steps; its GEMMs when it has none) or above the step count.
Stages cut_stages(const Plan& plan, int stages);

// The model's layers as the pipeline counts them (see cut_stages).
int count_layers(const Plan& plan);

}  // namespace kiln::plan
