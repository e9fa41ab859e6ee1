// LayerNormalization / SkipLayerNormalization rows, written once over the SIMD traits.
// Include only from ISA-compiled files, after the traits header; internal linkage (see x86_kernels.h).
//
// Numerics: the corrected two-pass algorithm in fp32 (Chan, Golub & LeVeque, "Algorithms for computing
// the sample variance", 1983): pass 1 gives a provisional mean m1; pass 2 sums d = x - m1 and d^2, so
// delta = sum(d)/n corrects the rounding of m1 and var = sum(d^2)/n - delta^2. Pass 3 normalises
// ((x - m1) - delta) * inv: x - m1 is (nearly) exact, so a mean that is large relative to the spread
// costs no accuracy (a plain fp32 mean would, by ulp(mean) / stddev). Every sum is per lane in fp32
// plus a horizontal sum; 1/sqrt(var + eps) is formed in double. Tested against the double-statistics
// reference within kTolFastNorm (tests/test_util.h), including rows with mean 1e3 x their spread.
#pragma once

#include <cstdint>

#include "kernels/x86/loops_impl.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {
namespace {

template <class S> void layer_norm_row(const NormRows& a, int64_t r) {
  using V = typename S::V;
  using M = typename S::M;
  const int64_t n = a.n;
  const float* x = a.x + r * n;
  float* y = a.y + r * n;
  const float* src = x;  // the values being normalised

  float total;
  if (a.skip) {
    // SkipLayerNormalization: s = (x + skip) + bias in fp32 (the `sum` output), staged in y.
    const float* skip = a.skip + r * n;
    float* sum_out = a.sum ? a.sum + r * n : nullptr;
    total = sum_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool F = decltype(full)::value;
      V s = S::add(ld<S, F>(x + k, m), ld<S, F>(skip + k, m));
      if (a.add_bias) s = S::add(s, ld<S, F>(a.add_bias + k, m));
      st<S, F>(y + k, s, m);
      if (sum_out) st<S, F>(sum_out + k, s, m);
      return s;  // dead tail lanes are 0 + 0 (+ 0)
    });
    src = y;
  } else {
    total = sum_vectors<S>(n, [&](int64_t k, M m, auto full) { return ld<S, decltype(full)::value>(x + k, m); });
  }
  const float m1 = total / static_cast<float>(n);
  const V m1v = S::set1(m1);
  float dsum, dsq;
  sum_and_squares<S>(
      n,
      [&](int64_t k, M m, auto full) {
        constexpr bool F = decltype(full)::value;
        V d = S::sub(ld<S, F>(src + k, m), m1v);
        if constexpr (!F) d = S::keep(d, m);
        return d;
      },
      dsum, dsq);
  const double delta = static_cast<double>(dsum) / static_cast<double>(n);
  double var = static_cast<double>(dsq) / static_cast<double>(n) - delta * delta;
  if (var < 0) var = 0;
  const float inv = static_cast<float>(1.0 / __builtin_sqrt(var + a.epsilon));
  const float mean = static_cast<float>(m1 + delta);
  const V deltav = S::set1(static_cast<float>(delta));
  const V invv = S::set1(inv);

  for_vectors<S>(n, [&](int64_t k, M m, auto full) {
    constexpr bool F = decltype(full)::value;
    const V t = S::mul(S::sub(S::sub(ld<S, F>(src + k, m), m1v), deltav), invv);
    const V b = a.beta ? ld<S, F>(a.beta + k, m) : S::zero();
    st<S, F>(y + k, S::fma(t, ld<S, F>(a.gamma + k, m), b), m);
  });
  if (a.mean) a.mean[r] = mean;
  if (a.inv_std_dev) a.inv_std_dev[r] = inv;
}

template <class S> void layer_norm_rows(const NormRows& a, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) layer_norm_row<S>(a, r);
}

}  // namespace
}  // namespace kiln::kernels::x86
