#include "passes/passes.h"

namespace kiln::passes {

size_t eliminate_dead_code(ir::Graph& g) {
  std::vector<char> live(g.values.size(), 0);
  for (int o : g.outputs) live[o] = 1;
  std::vector<char> keep(g.nodes.size(), 0);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const ir::Node& n = g.nodes[i];
    for (int o : n.outputs)
      if (live[o]) keep[i] = 1;
    if (keep[i])
      for (int in : n.inputs)
        if (in >= 0) live[in] = 1;
  }
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
  size_t removed = g.nodes.size() - kept.size();
  g.nodes = std::move(kept);
  g.rebuild_producers();
  g.compact();
  return removed;
}

}  // namespace kiln::passes
