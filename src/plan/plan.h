// The plan format: the compiled form of a graph, a flat step list over numbered tensors, with every
// activation placed at an offset of one arena (planned from tensor lifetimes) and every constant at an
// offset of the weights blob. This is what the artifact stores and what the runtime executes.
//
// src/plan/ is the layer both sides share: the compiler (src/planner/build_plan.h) produces a Plan, the
// artifact stores it, the runtime runs it. Nothing here depends on the compiler or the runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/tensor.h"

namespace kiln::plan {

enum class TensorKind { input, activation, constant };

struct PlanTensor {
  std::string name;
  DType dtype = DType::f32;
  Dims dims;
  TensorKind kind = TensorKind::activation;
  uint64_t offset = 0;  // arena offset (input/activation) or weights offset (constant), 64-aligned
  uint64_t bytes = 0;
};

struct PlanStep {
  std::string op;
  std::string name;  // source node name
  DType dtype = DType::f32;  // registry key dtype (see ops::kernel_dtype)
  std::vector<int> inputs;   // tensor indices; -1 for an omitted optional input
  std::vector<int> outputs;
  ir::Attrs attrs;
};

struct Plan {
  std::vector<PlanTensor> tensors;
  std::vector<PlanStep> steps;
  std::vector<int> inputs, outputs;  // model inputs and outputs, in the source model's order
  uint64_t arena_bytes = 0;
  uint64_t weight_bytes = 0;
};

constexpr uint64_t kAlignment = 64;
inline uint64_t align_up(uint64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace kiln::plan
