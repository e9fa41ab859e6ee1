// Vectorised fp32 exp, erfc and erf, written once over the SIMD traits (simd_avx2.h / simd_avx512.h).
// Include only from ISA-compiled files, after the traits header; internal linkage (see x86_kernels.h).
//
// Polynomial coefficients: near-minimax fits made by tools/kernels/fit_vec_math.py (Lawson's
// algorithm in float64, then rounded to float32; the script also simulates the fp32 evaluation).
// Measured against std::exp / std::erf in double over dense sweeps (tests/ops/x86_kernels_test.cc):
// relative error ~1e-7, within the kTolFastMath bound of tests/test_util.h.
#pragma once

#include <cstdint>

namespace kiln::kernels::x86 {
namespace {

// e^x. Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2 (ln2 split into a 9-bit head, so n*hi
// is exact, and a tail), a degree-6 polynomial for e^r, then scaling by 2^n. x is first clamped to
// the traits' [kExpMin, kExpMax], and S::exp_scale maps the ends to 0 / inf (AVX-512: exactly where
// the correctly rounded result underflows / overflows; AVX2: also flushes results below ~2.4e-38).
// NaN propagates.
template <class S> inline typename S::V vexp(typename S::V x) {
  using V = typename S::V;
  const V xc = S::min(S::set1(S::kExpMax), S::max(S::set1(S::kExpMin), x));
  const V n = S::round_nearest(S::mul(xc, S::set1(1.44269504088896341f)));
  V r = S::fnma(n, S::set1(0.693359375f), xc);
  r = S::fnma(n, S::set1(-2.12194440e-4f), r);
  V p = S::set1(0.0013836827f);
  p = S::fma(p, r, S::set1(0.008374815f));
  p = S::fma(p, r, S::set1(0.041668225f));
  p = S::fma(p, r, S::set1(0.1666642f));
  p = S::fma(p, r, S::set1(0.4999999f));
  p = S::fma(p, r, S::set1(1.0f));
  p = S::fma(p, r, S::set1(1.0f));
  return S::exp_scale(p, n, x);
}

// erfc(z) for z >= 0 (or NaN), with small *relative* error over the whole range:
//   erfc(z) = t * exp(-z^2 + P(u)),  t = 1 / (1 + z/2),  u = t - 1/2 = (2 - z) / (4 + 2z)
// (the t*exp(-z^2 + poly(t)) form of Chebyshev-fitted erfc approximations; P is our own degree-9
// fit). The caller passes z^2 exactly as sq_hi + sq_lo (see square_split): rounding z^2, or the sum
// -z^2 + P, to fp32 would cost |z^2| * 6e-8 of relative accuracy (1e-6 at z = 4), so the sum's
// rounding error is recovered with TwoSum (Knuth) and applied as e^s * (1 + err). z is clamped to
// 10 (erfc(10) ~ 2e-45, the last value fp32 can hold) and larger z give 0.
template <class S>
inline typename S::V verfc_nonneg(typename S::V z, typename S::V sq_hi, typename S::V sq_lo) {
  using V = typename S::V;
  const typename S::C big = S::lt(S::set1(10.0f), z);
  z = S::min(S::set1(10.0f), z);
  const V two = S::set1(2.0f);
  const V u = S::div(S::sub(two, z), S::fma(two, z, S::set1(4.0f)));
  V p = S::set1(0.14219397f);
  p = S::fma(p, u, S::set1(-0.02618774f));
  p = S::fma(p, u, S::set1(-0.2621038f));
  p = S::fma(p, u, S::set1(0.10775281f));
  p = S::fma(p, u, S::set1(0.27941042f));
  p = S::fma(p, u, S::set1(-0.15758646f));
  p = S::fma(p, u, S::set1(-0.37506923f));
  p = S::fma(p, u, S::set1(0.1893647f));
  p = S::fma(p, u, S::set1(1.3452855f));
  p = S::fma(p, u, S::set1(-0.67179406f));
  // s + err = p - sq_hi exactly (TwoSum), then the exponent's low part err - sq_lo.
  const V nh = S::sub(S::zero(), sq_hi);
  const V s = S::add(p, nh);
  const V bb = S::sub(s, p);
  const V err = S::add(S::sub(p, S::sub(s, bb)), S::sub(nh, bb));
  const V lo = S::sub(err, sq_lo);
  const V es = vexp<S>(s);
  const V t = S::add(u, S::set1(0.5f));
  return S::select(big, S::zero(), S::mul(t, S::fma(es, lo, es)));
}

// x*x exactly as hi + lo (lo from one fused multiply-add).
template <class S> inline void square_split(typename S::V x, typename S::V& hi, typename S::V& lo) {
  hi = S::mul(x, x);
  lo = S::fma(x, x, S::sub(S::zero(), hi));
}

// erf(z): z * Q(z^2) for |z| < 0.75 (degree-5 fit, no cancellation near 0), else
// sign(z) * (1 - erfc(|z|)) where erfc(|z|) < 0.29 so the subtraction loses nothing that matters.
template <class S> inline typename S::V verf(typename S::V z) {
  using V = typename S::V;
  const V a = S::abs(z);
  V hi, lo;
  square_split<S>(z, hi, lo);
  V q = S::set1(-0.0006749514f);
  q = S::fma(q, hi, S::set1(0.005114346f));
  q = S::fma(q, hi, S::set1(-0.026834624f));
  q = S::fma(q, hi, S::set1(0.11283377f));
  q = S::fma(q, hi, S::set1(-0.3761262f));
  q = S::fma(q, hi, S::set1(1.1283791f));
  const V small = S::mul(z, q);
  const V large = S::copysign(S::sub(S::set1(1.0f), verfc_nonneg<S>(a, hi, lo)), z);
  return S::select(S::lt(a, S::set1(0.75f)), small, large);
}

// GELU, erf form: x * Phi(x) with Phi(x) = 0.5 * erfc(-x / sqrt 2), evaluated as
//   x < 0: 0.5 * erfc(|x| / sqrt 2)        (small relative error far into the tail)
//   x >= 0: 1 - 0.5 * erfc(x / sqrt 2)     (erfc <= 1: no cancellation)
// with (x / sqrt 2)^2 = x^2 / 2 taken exactly from x (the rounded z only feeds the polynomial).
template <class S> inline typename S::V vgelu_erf(typename S::V x) {
  using V = typename S::V;
  const V half = S::set1(0.5f);
  V hi, lo;
  square_split<S>(x, hi, lo);
  const V z = S::abs(S::mul(x, S::set1(0.70710678118654752f)));
  const V h = S::mul(half, verfc_nonneg<S>(z, S::mul(half, hi), S::mul(half, lo)));
  const V phi = S::select(S::lt(x, S::zero()), h, S::sub(S::set1(1.0f), h));
  return S::mul(x, phi);
}

// GELU, tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated through the
// identity 0.5 (1 + tanh(u)) = 1 / (1 + e^(-2u)) as x / (1 + e^(-2u)): one exp, one division, and
// no cancellation for negative x. Overflow of e^(-2u) gives x / inf = -0, the right limit.
template <class S> inline typename S::V vgelu_tanh(typename S::V x) {
  using V = typename S::V;
  const float c = 0.7978845608028654f;  // sqrt(2/pi)
  const V x2 = S::mul(x, x);
  const V m2u = S::mul(x, S::fma(S::set1(-2.0f * c * 0.044715f), x2, S::set1(-2.0f * c)));  // -2u
  return S::div(x, S::add(S::set1(1.0f), vexp<S>(m2u)));
}

}  // namespace
}  // namespace kiln::kernels::x86
