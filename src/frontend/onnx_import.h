// ONNX frontend: reads a .onnx file (protobuf, Debian's libonnx) into Kiln's IR.
//
// Every problem is reported as kiln::Error naming the file and, where it applies, the node, the
// initializer or the input. Unsupported operators are reported all at once with node names and counts.
#pragma once

#include <string>
#include <string_view>

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
// The same from the model file's bytes; `name` stands for the file in errors. External tensor data is
// read from `external_data_dir` (the model's folder); with an empty one, a tensor stored externally is
// an error.
ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& name, const std::string& external_data_dir = "");

// Operator support table, without building the IR (works on models Kiln cannot compile).
AnalysisReport analyze_onnx(const std::string& path);
AnalysisReport analyze_onnx_bytes(std::string_view bytes, const std::string& name);

}  // namespace kiln::frontend
