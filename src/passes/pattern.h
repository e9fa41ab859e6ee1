// Helpers for the fusion passes: who produces and who reads a value, constant scalars, and replacing
// the last node of a matched pattern by a fused node.
//
// Fusion strategy: a fused node takes over the *output value* of the pattern's last node and its place
// in the node order; the pattern's other nodes are left alone and removed by dead-code elimination
// when nothing else reads them. So a pattern whose intermediate values are also used elsewhere stays
// correct (those nodes simply stay), and a pattern that does not match changes nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

class PatternView {
 public:
  explicit PatternView(ir::Graph& g) : g_(g) { refresh(); }
  void refresh();

  ir::Graph& graph() { return g_; }
  // The node producing value v if it has op `op` (any op when empty), else nullptr.
  const ir::Node* producer(int v, const std::string& op = "") const;
  int producer_index(int v) const { return v < 0 ? -1 : g_.values[v].producer; }
  // The nodes reading v.
  const std::vector<int>& consumers(int v) const { return consumers_[v]; }
  // The single node reading v with op `op`, when v has exactly one reader and is not a graph output.
  const ir::Node* only_consumer(int v, const std::string& op) const;
  int only_consumer_index(int v) const;
  bool is_graph_output(int v) const;
  // Value of a constant with a single element (any float/int dtype), if v is one.
  std::optional<double> scalar(int v) const;
  bool is_constant(int v) const { return v >= 0 && g_.values[v].is_constant(); }
  // For a binary node with inputs (a, b): the input that is not `known`, or -1.
  static int other_input(const ir::Node& n, int known);

 private:
  ir::Graph& g_;
  std::vector<std::vector<int>> consumers_;
};

bool near(double value, double expected, double rel = 1e-4);

// Replaces node `index` (the last node of a match) by `fused`, which must produce the same output
// values. Re-infers the fused node; if its shape rule rejects the inputs or the output types would
// change (a corner the matcher did not check), restores the original node and returns false: the
// fusion is skipped, never a wrong answer or an aborted compile.
bool replace_node(ir::Graph& g, int index, ir::Node fused);

}  // namespace kiln::passes
