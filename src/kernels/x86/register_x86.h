// Registration of the AVX2 / AVX-512 kernels: one function per op family, each in that family's
// `<family>_x86.cc`, which holds the family's registry entries for every tier: attribute and shape
// handling, the cases each fast path covers (others call the reference kernel) and the OpenMP split
// around the row/range functions of x86_kernels.h. Those files are compiled WITHOUT ISA flags (only
// `*_avx2.cc` / `*_avx512.cc` get them): nothing in them executes vector code until select_kernel()
// picked a tier the CPU supports.
//
// register_x86_kernels() (kernel.h) calls every family from the list in register_x86.cc: explicit calls,
// not static registrar objects, which the linker drops from a static library when nothing else in their
// object file is referenced.
//
// Adding an op to a family touches its `<family>_avx2.cc` / `_avx512.cc` (the compute), x86_kernels.h
// (their declarations) and `<family>_x86.cc` (the entries); a new family adds its files, a function here
// and one line in register_x86.cc.
#pragma once

namespace kiln::kernels {

void register_layer_norm_x86();   // LayerNormalization, SkipLayerNormalization
void register_softmax_x86();      // Softmax
void register_gelu_x86();         // Gelu, Erf, Exp
void register_elementwise_x86();  // Add, Mul
void register_convert_x86();      // Cast f32 <-> bf16 / f16 (AVX-512 only)

}  // namespace kiln::kernels
