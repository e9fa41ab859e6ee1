// The compiler's last step: a specialised, verified graph turned into a Plan (src/plan/plan.h), with
// activations placed in one arena by lifetime and constants laid out in the weights blob.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "plan/plan.h"

namespace kiln::planner {

// Builds the plan from a specialised, verified graph. `weights` receives the constants' bytes, laid
// out at their planned offsets (deterministic: same graph, same bytes).
plan::Plan build_plan(const ir::Graph& g, std::string& weights);

// The constants of several plans (sequence buckets of one model) in one blob: a constant byte-identical
// to one already in the blob is stored once and shared.
struct WeightBlob {
  std::string bytes;
  std::unordered_multimap<size_t, uint64_t> by_content;  // hash of the bytes -> offset
  uint64_t place(const void* data, uint64_t size);        // the offset of these bytes, appended if new
};
plan::Plan build_plan(const ir::Graph& g, WeightBlob& blob);

// Greedy lifetime-based placement: each (first step, last step, bytes) interval gets an offset so that
// tensors alive at the same time never overlap. Returns the arena size. Exposed for tests.
struct Lifetime {
  int first = 0, last = 0;
  uint64_t bytes = 0;
  uint64_t offset = 0;
};
uint64_t place_lifetimes(std::vector<Lifetime>& lifetimes);

}  // namespace kiln::planner
