// Gelu, Erf and Exp, f32, AVX2 / AVX-512 (gelu_avx2.cc, gelu_avx512.cc): registry entries. No ISA
// flags here, see register_x86.h.
#include <string>

#include "kernels/kernel.h"
#include "kernels/parallel.h"
#include "kernels/x86/register_x86.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels {
namespace {

using GeluRange = void (*)(const float*, float*, bool, int64_t, int64_t);
using UnaryRange = void (*)(const float*, float*, int64_t, int64_t);

template <GeluRange F> void gelu_fast(const KernelContext& c) {
  const bool tanh_form = c.attrs.get_string("approximate", "none") == "tanh";
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { F(x, y, tanh_form, b, e); });
}

// Erf, Exp: y = f(x) elementwise.
template <UnaryRange F> void unary_fast(const KernelContext& c) {
  const float* x = c.inputs[0].as<float>();
  float* y = c.outputs[0].as<float>();
  parallel_flat(c.inputs[0].numel(), [&](int64_t b, int64_t e) { F(x, y, b, e); });
}

template <GeluRange Gelu, UnaryRange Erf, UnaryRange Exp> void register_tier(Isa isa) {
  const std::string s = std::string("_f32_") + isa_name(isa);
  register_kernel("Gelu", DType::f32, isa, "gelu" + s, gelu_fast<Gelu>);
  register_kernel("Erf", DType::f32, isa, "erf" + s, unary_fast<Erf>);
  register_kernel("Exp", DType::f32, isa, "exp" + s, unary_fast<Exp>);
}

}  // namespace

void register_gelu_x86() {
  register_tier<x86::gelu_avx2, x86::erf_avx2, x86::exp_avx2>(Isa::avx2);
  register_tier<x86::gelu_avx512, x86::erf_avx512, x86::exp_avx512>(Isa::avx512);
}

}  // namespace kiln::kernels
