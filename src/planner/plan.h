// The compiled form of a graph: a flat step list over numbered tensors, with every activation placed
// at an offset of one arena (planned from tensor lifetimes) and every constant at an offset of the
// weights blob. This is what the artifact stores and what the runtime executes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "kiln/tensor.h"

namespace kiln::planner {

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

// Builds the plan from a specialised, verified graph. `weights` receives the constants' bytes, laid
// out at their planned offsets (deterministic: same graph, same bytes).
Plan build_plan(const ir::Graph& g, std::string& weights);

// The constants of several plans (sequence buckets of one model) in one blob: a constant byte-identical
// to one already in the blob is stored once and shared.
struct WeightBlob {
  std::string bytes;
  std::unordered_multimap<size_t, uint64_t> by_content;  // hash of the bytes -> offset
  uint64_t place(const void* data, uint64_t size);        // the offset of these bytes, appended if new
};
Plan build_plan(const ir::Graph& g, WeightBlob& blob);

// Greedy lifetime-based placement: each (first step, last step, bytes) interval gets an offset so that
// tensors alive at the same time never overlap. Returns the arena size. Exposed for tests.
struct Lifetime {
  int first = 0, last = 0;
  uint64_t bytes = 0;
  uint64_t offset = 0;
};
uint64_t place_lifetimes(std::vector<Lifetime>& lifetimes);

}  // namespace kiln::planner
