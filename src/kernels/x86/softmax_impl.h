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

// Attention probabilities over rows [begin, end) of n scores s, in place: s = softmax(scale * s + mask).
// Row r's mask starts at mask + mask_offset[r] with stride mask_stride (1, or 0 for one value for the
// whole row); mask == nullptr means none. Fusing the scale and the additive mask here saves the
// GEMM a post-op pass over the scores (oneDNN 2.6's batched GEMM applies a binary post-op as a second
// pass: +75% on BERT's QK^T). `out(row, k, v, m, Full)` writes the probabilities (fp32 in place, or bf16
// elsewhere). Masking with -3.4e38 behaves as in softmax_rows above.
template <class S, class Out>
void attention_probs(float* s_all, int64_t n, float scale, const float* mask, const int64_t* mask_offset,
                     int64_t mask_stride, int64_t begin, int64_t end, Out&& out) {
  using V = typename S::V;
  using M = typename S::M;
  const V sc = S::set1(scale);
  for (int64_t r = begin; r < end; ++r) {
    float* s = s_all + r * n;
    const float* m_row = mask ? mask + mask_offset[r] : nullptr;
    const V m0 = m_row ? S::set1(m_row[0]) : S::zero();
    // Pass 1: t = scale * s + mask, stored back; its maximum (dead tail lanes are -inf).
    V mx = S::set1(-__builtin_inff());
    for_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      V t = S::mul(ld<S, F>(s + k, m), sc);
      if (m_row) t = S::add(t, mask_stride ? ld<S, F>(m_row + k, m) : m0);
      st<S, F>(s + k, t, m);
      if constexpr (F) mx = S::max(mx, t);
      else mx = S::max(mx, S::load_or(s + k, m, S::set1(-__builtin_inff())));
    });
    const V vmax = S::set1(S::hmax(mx));
    const float total = sum_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      V e = vexp<S>(S::sub(ld<S, F>(s + k, m), vmax));
      if constexpr (!F) e = S::keep(e, m);
      st<S, F>(s + k, e, m);
      return e;
    });
    const V inv = S::set1(1.0f / total);
    for_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      out(r, k, S::mul(ld<S, F>(s + k, m), inv), m, full);
    });
  }
}

}  // namespace
}  // namespace kiln::kernels::x86
