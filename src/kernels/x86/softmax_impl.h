// Softmax over rows of n contiguous floats, written once over the SIMD traits.
// Include only from ISA-compiled files, after the traits header; internal linkage (see x86_kernels.h).
//
// Three passes per row: max; e = exp(x - max) stored to y while summing (fp32, per lane); y *= 1/sum.
// Additive masks of -3.4e38 (finfo.min) give x - max = -3.4e38 (or -inf), which vexp maps to 0; a row
// masked entirely has max = -3.4e38, so every x - max is 0 and the row comes out uniform, as in the
// reference kernel.
#pragma once

#include <cstdint>

#include "kernels/x86/loops_impl.h"
#include "kernels/x86/vec_math.h"

namespace kiln::kernels::x86 {
namespace {

template <class S> void softmax_rows(const float* x_all, float* y_all, int64_t n, int64_t begin, int64_t end) {
  using V = typename S::V;
  using M = typename S::M;
  for (int64_t r = begin; r < end; ++r) {
    const float* x = x_all + r * n;
    float* y = y_all + r * n;
    const V mx = S::set1(max_of<S>(x, n));
    const float total = sum_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      V e = vexp<S>(S::sub(ld<S, F>(x + k, m), mx));
      st<S, F>(y + k, e, m);
      if constexpr (!F) e = S::keep(e, m);
      return e;
    });
    const V scale = S::set1(1.0f / total);
    for_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      st<S, F>(y + k, S::mul(ld<S, F>(y + k, m), scale), m);
    });
  }
}

}  // namespace
}  // namespace kiln::kernels::x86
