// CPU feature tiers. Detected once in dispatch.cc, the only place that reads CPUID.
#pragma once

namespace kiln::kernels {

// Ordered: a CPU at tier T runs kernels of every tier <= T.
enum class Isa { ref = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
// What this CPU supports.
Isa detected_isa();
// The tier kernels are chosen for: detected_isa(), or KILN_FORCE_ISA=ref|avx2|avx512 when set.
// Forcing a tier the CPU lacks throws kiln::Error.
Isa active_isa();
// Whether the avx512 tier is active and the CPU converts to bf16 in one instruction (vcvtneps2bf16):
// a kernel of that tier may pick its *_avx512bf16 variant (src/kernels/x86/).
bool has_avx512_bf16();
// Human-readable feature list, e.g. "avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni".
const char* cpu_features();

}  // namespace kiln::kernels
