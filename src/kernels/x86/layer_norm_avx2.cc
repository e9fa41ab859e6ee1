// LayerNormalization and SkipLayerNormalization rows, AVX2 + FMA. Compiled with per-file ISA flags
// (CMakeLists.txt); runs only when dispatch selected the avx2 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/layer_norm_impl.h"

namespace kiln::kernels::x86 {

void layer_norm_rows_avx2(const NormRows& a, int64_t begin, int64_t end) { layer_norm_rows<Avx2>(a, begin, end); }

}  // namespace kiln::kernels::x86
