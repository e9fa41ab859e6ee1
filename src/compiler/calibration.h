// Sample data for static int8 calibration and compile --verify, and the runs that use it.
//
// Calibration file format: JSON Lines, one sample (one batch row) per line, an object mapping every
// model input name to that row's values as a flat array of integers, e.g. with --seq 8:
//   {"input_ids": [101, 2023, 3185, 2001, 2307, 999, 102, 0], "attention_mask": [1,1,1,1,1,1,1,0], ...}
// Blank lines are skipped. Errors name the file, the line, the input and what was expected.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/graph.h"
#include "kiln/compiler.h"
#include "kiln/session.h"
#include "passes/passes.h"

namespace kiln::compiler {

using Sample = std::map<std::string, std::vector<int64_t>>;

// Reads and checks the file against the graph's (specialised) inputs.
std::vector<Sample> read_calibration_file(const std::string& path, const ir::Graph& g);
// The parser itself, on the file's text (calibration_file.cc, which needs nothing but JSON, so the fuzz
// target links it alone): `row_elements` is each expected input's element count per batch row; `name`
// stands for the file in errors. Lines are JSON parsed with a nesting limit; values must be integers.
std::vector<Sample> read_calibration_text(std::string_view text, const std::string& name,
                                          const std::map<std::string, int64_t>& row_elements);

// The samples as batches of the compiled batch size, in file order; the last batch is filled up by
// cycling from the first sample.
std::vector<std::vector<NamedTensor>> make_batches(const std::vector<Sample>& samples, const ir::Graph& g);

// Compiles `g` (an optimised fp32 graph, copied) to a temporary artifact next to `near_path`, and
// returns a session on it; the file is removed when the session is loaded. `meta_inputs` carries the
// input roles for generated inputs.
Session reference_session(ir::Graph g, const nlohmann::json& meta_inputs, const std::string& near_path);

// Absolute maximum of every FusedMatMul's input activation over the batches, run in fp32 on `g`.
passes::ActivationRanges calibrate(const ir::Graph& g, const std::vector<std::vector<NamedTensor>>& batches,
                                   const nlohmann::json& meta_inputs, const std::string& near_path);

}  // namespace kiln::compiler
