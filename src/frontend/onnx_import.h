// ONNX frontend: reads a .onnx file (protobuf, Debian's libonnx) into Kiln's IR.
//
// Every problem is reported as kiln::Error naming the file and, where it applies, the node, the
// initializer or the input. Unsupported operators are reported all at once with node names and counts.
#pragma once

#include <string>

#include "ir/graph.h"
#include "kiln/compiler.h"

namespace kiln::frontend {

struct ImportedModel {
  ir::Graph graph;
  std::string producer;  // "pytorch 1.13.1"
  int64_t opset = 0;
  std::string sha256;    // digest of the model file's bytes
  size_t onnx_nodes = 0;      // nodes in the ONNX graph
  size_t constant_nodes = 0;  // of which Constant nodes, imported as constant values
};

// Imports the model. Node outputs are created untyped; shapes are inferred after specialisation.
ImportedModel import_onnx(const std::string& path);

// Operator support table, without building the IR (works on models Kiln cannot compile).
AnalysisReport analyze_onnx(const std::string& path);

}  // namespace kiln::frontend
