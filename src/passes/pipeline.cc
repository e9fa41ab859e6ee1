#include "kiln/error.h"
#include "passes/passes.h"

namespace kiln::passes {

PassReport run_passes(ir::Graph& g, const CompileOptions& options) {
  PassReport r;
  ir::verify(g, false);
  bind_shapes(g, options);
  ir::verify(g, false);
  r.folded = fold_constants(g);
  ir::verify(g, true);
  r.noops = eliminate_noops(g);
  ir::verify(g, true);
  r.dead = eliminate_dead_code(g);
  ir::verify(g, true);
  return r;
}

}  // namespace kiln::passes
