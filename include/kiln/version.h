#pragma once

#include <string>

namespace kiln {

// Semantic version of the compiler/runtime, e.g. "0.1.0".
const char* version();
// One line for --version and logs: "kiln 0.1.0 (artifact format 2, oneDNN 2.6.3, CPU tier avx512)", where the
// tier is the best one this CPU supports (KILN_FORCE_ISA does not change it).
std::string version_line();
// The kernel tier this process runs at: the best one this CPU supports, or the one KILN_FORCE_ISA chose
// ("avx512", "avx2" or "ref").
const char* kernel_tier();
// Artifact format version this build writes; it reads this version only (older ones: recompile).
// 2: inputs and outputs record their batch and sequence axes, and whether rows are independent.
constexpr unsigned kArtifactFormatVersion = 2;

}  // namespace kiln
