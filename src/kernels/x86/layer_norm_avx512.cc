// LayerNormalization and SkipLayerNormalization rows, AVX-512 (F/BW/VL/DQ) + FMA. Compiled with per-file ISA flags
// (CMakeLists.txt); runs only when dispatch selected the avx512 tier. See x86_kernels.h.
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/layer_norm_impl.h"

namespace kiln::kernels::x86 {

void layer_norm_rows_avx512(const NormRows& a, int64_t begin, int64_t end) { layer_norm_rows<Avx512>(a, begin, end); }

}  // namespace kiln::kernels::x86
