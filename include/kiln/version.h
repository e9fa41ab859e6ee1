#pragma once

namespace kiln {

// Semantic version of the compiler/runtime, e.g. "0.1.0".
const char* version();
// Artifact format version this build writes; it reads this version only (older ones: recompile).
// 2: inputs and outputs record their batch and sequence axes, and whether rows are independent.
constexpr unsigned kArtifactFormatVersion = 2;

}  // namespace kiln
