// Inputs for tools that run a model without user data (kiln bench, kiln profile): from --input files
// when given, otherwise made up from the compiled shapes and the input roles the compiler detected.
#pragma once

#include <string>
#include <vector>

#include "kiln/session.h"

namespace kiln::cli {

// `specs` are NAME=FILE.npy strings; every input they do not name is generated: token ids as a fixed
// pseudo-random sequence within the vocabulary, attention masks all ones, token types and other
// integer inputs zeros, float inputs small fixed values.
std::vector<NamedTensor> load_or_make_inputs(const Session& session, const std::vector<std::string>& specs);

// Parses NAME=FILE.npy specs and reads the files (errors name the spec).
std::vector<NamedTensor> read_input_specs(const std::vector<std::string>& specs);

}  // namespace kiln::cli
