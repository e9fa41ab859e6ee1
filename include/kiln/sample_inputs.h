// Made-up but valid model inputs, for tools that run a model without user data (`kiln bench`,
// `kiln profile`, `compile --verify`, the Python bench): shaped as a session or engine takes them, filled
// by the input roles the compiler recorded (ModelInfo::inputs).
//
// Deterministic: the same model, shapes and seed give the same inputs. Token ids are pseudo-random within
// the vocabulary, attention masks all ones, token types and other integer inputs zeros, float inputs small
// values in [-0.5, 0.5).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/tensor.h"

namespace kiln {

class Engine;

constexpr uint64_t kDefaultSampleSeed = 0x9E3779B97F4A7C15ull;

// One tensor per spec in `shapes` (names, dtypes and dims), filled by the role `info` records for it
// (an input `info` does not know is filled as "other").
std::vector<NamedTensor> make_sample_inputs(const ModelInfo& info, const std::vector<TensorSpec>& shapes,
                                            uint64_t seed = kDefaultSampleSeed);
// The session's input shapes (its sequence bucket).
std::vector<NamedTensor> make_sample_inputs(const Session& session, uint64_t seed = kDefaultSampleSeed);
// The engine's compiled input shapes (Engine::inputs()).
std::vector<NamedTensor> make_sample_inputs(const Engine& engine, uint64_t seed = kDefaultSampleSeed);

}  // namespace kiln
