// Made-up but valid model inputs, for tools that run a model without user data (kiln bench, kiln
// profile, compile --verify): generated from the compiled shapes and the input roles the compiler
// detected (artifact META "inputs").
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/session.h"

namespace kiln {

// Token ids pseudo-random within the vocabulary (from `seed`: the same seed gives the same inputs),
// attention masks all ones, token types and other integer inputs zeros, float inputs small values.
std::vector<NamedTensor> make_sample_inputs(const Session& session, uint64_t seed = 0x9E3779B97F4A7C15ull);
// The same from the input specs and the artifact's metadata JSON (for an Engine).
std::vector<NamedTensor> make_sample_inputs(const std::vector<TensorSpec>& specs, const std::string& metadata_json,
                                            uint64_t seed = 0x9E3779B97F4A7C15ull);

}  // namespace kiln
