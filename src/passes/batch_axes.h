// Where the batch and the sequence live in a model's inputs and outputs, and whether its rows are
// independent: the facts the serving runtime needs before it merges, pads or splits rows.
//
// The compiler binds `--batch` and `--seq` to symbolic input dims. Which tensors carry those dims after
// shape inference is not visible in one specialised graph (a fixed [3,4] looks the same as a batch of 3),
// so find_batch_axes specialises copies of the unbound graph at two batch sizes (and two lengths) and
// compares the inferred shapes: a dim that follows the batch is the batch axis. Then it walks the graph
// once and checks that no op reduces, normalises, slices, concatenates or contracts along that axis, or
// reshapes it into another position, so that row r of every output depends on row r of the inputs only.
// Anything it cannot show to be row-local makes the model "fixed-shape": requests must match the compiled
// shapes exactly. A wrong merge would be a silent wrong answer; a refused shape is a clear error.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/compiler.h"

namespace kiln::passes {

struct TensorAxes {
  int batch = -1;  // the axis whose size is the compiled batch, -1 if none
  int seq = -1;    // the axis whose size is the compiled sequence length, -1 if none
  bool constant = false;  // an output folded to a constant (no step computes it)
};

struct BatchAxes {
  std::vector<TensorAxes> inputs, outputs;  // in graph input / output order
  // Every output row depends only on the same row of the inputs: rows may be merged from several
  // requests, padded and split. False with `reason` saying why (or that there is no batch axis).
  bool rows_independent = false;
  std::string reason;
};

// `unbound` is the imported graph before bind_shapes; `options` as given to the compiler (batch and
// seq of the bucket to analyse). Never throws for a model that compiles: a probe that fails to
// specialise means the dim does not vary freely, so there is no such axis.
BatchAxes find_batch_axes(const ir::Graph& unbound, const CompileOptions& options);

}  // namespace kiln::passes
