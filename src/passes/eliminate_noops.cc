#include <algorithm>

#include "passes/passes.h"

namespace kiln::passes {

size_t eliminate_noops(ir::Graph& g) {
  // replacement[v] = the value v's readers should read instead.
  std::vector<int> replacement(g.values.size());
  for (size_t v = 0; v < replacement.size(); ++v) replacement[v] = static_cast<int>(v);
  auto resolve = [&](int v) {
    while (v >= 0 && replacement[v] != v) v = replacement[v];
    return v;
  };
  auto consumers = g.consumers();
  std::vector<ir::Node> kept;
  size_t removed = 0;
  for (ir::Node& n : g.nodes) {
    for (int& in : n.inputs) in = resolve(in);
    bool noop = n.op == "Identity" || n.op == "Dropout";
    // A Dropout whose mask is read, or a no-op producing a graph output (its name is part of the
    // model's interface), stays.
    if (noop && n.outputs.size() > 1 && !consumers[n.outputs[1]].empty()) noop = false;
    for (int o : n.outputs)
      if (noop && std::count(g.outputs.begin(), g.outputs.end(), o)) noop = false;
    if (noop && n.inputs[0] >= 0) {
      replacement[n.outputs[0]] = n.inputs[0];
      ++removed;
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  g.rebuild_producers();
  g.compact();
  return removed;
}

}  // namespace kiln::passes
