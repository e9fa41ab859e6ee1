// Cast between f32 and bf16 / f16, AVX-512 (convert_avx512.cc): registry entries; casts to or from any
// other dtype go to the reference kernel. No ISA flags here, see register_x86.h.
#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/x86/register_x86.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels {
namespace {

void cast_from_f32_avx512(const KernelContext& c) {
  const float* x = c.inputs[0].as<float>();
  uint16_t* y = c.outputs[0].as<uint16_t>();
  switch (c.outputs[0].dtype) {
    case DType::bf16: return parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { x86::f32_to_bf16_avx512(x, y, b, e); });
    case DType::f16: return parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { x86::f32_to_f16_avx512(x, y, b, e); });
    default: return find_kernel("Cast", DType::f32, Isa::ref)->fn(c);
  }
}

template <DType From, void (*Widen)(const uint16_t*, float*, int64_t, int64_t)> void cast_half_avx512(const KernelContext& c) {
  if (c.outputs[0].dtype != DType::f32) return find_kernel("Cast", From, Isa::ref)->fn(c);
  const uint16_t* x = c.inputs[0].as<uint16_t>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { Widen(x, y, b, e); });
}

}  // namespace

void register_convert_x86() {
  register_kernel("Cast", DType::f32, Isa::avx512, "cast_f32_avx512", cast_from_f32_avx512);
  register_kernel("Cast", DType::bf16, Isa::avx512, "cast_bf16_avx512", cast_half_avx512<DType::bf16, x86::bf16_to_f32_avx512>);
  register_kernel("Cast", DType::f16, Isa::avx512, "cast_f16_avx512", cast_half_avx512<DType::f16, x86::f16_to_f32_avx512>);
}

}  // namespace kiln::kernels
