// Graph inputs bound to constant values at compile time (CompileOptions::constant_inputs,
// `kiln compile --constant-input NAME=FILE.npy`).
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"
#include "kiln/tensor.h"

namespace kiln::compiler {

// Turns each named graph input into a constant (an initializer) holding the given tensor, before shapes
// are bound, so that folding and shape inference see its value (a Reshape target, Slice starts, ...).
// An unknown name, a dtype other than the input's, or a shape contradicting the input's declared dims is a
// kiln::Error naming the input and what was expected. int32 data for an int64 input is widened.
void bind_constant_inputs(ir::Graph& g, const std::map<std::string, Tensor>& constants);

}  // namespace kiln::compiler
