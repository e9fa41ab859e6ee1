#pragma once

namespace kiln {

// Semantic version of the compiler/runtime, e.g. "0.1.0".
const char* version();
// Artifact format version this build writes; it reads this version only (older ones: recompile).
constexpr unsigned kArtifactFormatVersion = 1;

}  // namespace kiln
