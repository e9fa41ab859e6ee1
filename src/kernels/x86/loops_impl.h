// Loop skeletons over a contiguous run of floats, shared by the `*_impl.h` templates: full vectors,
// then one masked tail vector (no scalar remainder loop). Include only from ISA-compiled files, after
// the traits header; internal linkage (see x86_kernels.h).
#pragma once

#include <cstdint>

namespace kiln::kernels::x86 {
namespace {

// Passed to loop bodies so that full vectors use plain loads/stores and only the tail is masked.
template <bool B> struct Full {
  static constexpr bool value = B;
};

template <class S, bool F> inline typename S::V ld(const float* p, typename S::M m) {
  if constexpr (F) return S::load(p);
  else return S::load(p, m);  // dead lanes read as 0
}
template <class S, bool F> inline void st(float* p, typename S::V v, typename S::M m) {
  if constexpr (F) S::store(p, v);
  else S::store(p, v, m);
}

// body(k, m, Full<bool>) for every vector of [0, n).
template <class S, class Body> inline void for_vectors(int64_t n, Body&& body) {
  int64_t k = 0;
  for (; k + S::W <= n; k += S::W) body(k, typename S::M{}, Full<true>{});
  if (k < n) body(k, S::tail(n - k), Full<false>{});
}

// Sum over [0, n) of the vectors body(k, m, Full<bool>) returns (a tail body must return 0 in dead
// lanes), with four independent accumulators so the adds pipeline.
template <class S, class Body> inline float sum_vectors(int64_t n, Body&& body) {
  using V = typename S::V;
  constexpr int64_t W = S::W;
  const typename S::M all{};
  V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
  int64_t k = 0;
  for (; k + 4 * W <= n; k += 4 * W) {
    a0 = S::add(a0, body(k, all, Full<true>{}));
    a1 = S::add(a1, body(k + W, all, Full<true>{}));
    a2 = S::add(a2, body(k + 2 * W, all, Full<true>{}));
    a3 = S::add(a3, body(k + 3 * W, all, Full<true>{}));
  }
  for (; k + W <= n; k += W) a0 = S::add(a0, body(k, all, Full<true>{}));
  if (k < n) a1 = S::add(a1, body(k, S::tail(n - k), Full<false>{}));
  return S::hsum(S::add(S::add(a0, a1), S::add(a2, a3)));
}

// Sums over [0, n) of the vectors d = body(k, m, Full<bool>) and of d*d (a tail body must return 0 in
// dead lanes), two accumulators each.
template <class S, class Body> inline void sum_and_squares(int64_t n, Body&& body, float& sum, float& squares) {
  using V = typename S::V;
  constexpr int64_t W = S::W;
  const typename S::M all{};
  V s0 = S::zero(), s1 = S::zero(), q0 = S::zero(), q1 = S::zero();
  int64_t k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    const V d0 = body(k, all, Full<true>{});
    const V d1 = body(k + W, all, Full<true>{});
    s0 = S::add(s0, d0);
    q0 = S::fma(d0, d0, q0);
    s1 = S::add(s1, d1);
    q1 = S::fma(d1, d1, q1);
  }
  for (; k + W <= n; k += W) {
    const V d = body(k, all, Full<true>{});
    s0 = S::add(s0, d);
    q0 = S::fma(d, d, q0);
  }
  if (k < n) {
    const V d = body(k, S::tail(n - k), Full<false>{});
    s1 = S::add(s1, d);
    q1 = S::fma(d, d, q1);
  }
  sum = S::hsum(S::add(s0, s1));
  squares = S::hsum(S::add(q0, q1));
}

// Maximum of x[0, n) (n >= 1), four accumulators.
template <class S> inline float max_of(const float* x, int64_t n) {
  using V = typename S::V;
  constexpr int64_t W = S::W;
  const V lowest = S::set1(-__builtin_inff());
  V a0 = lowest, a1 = lowest, a2 = lowest, a3 = lowest;
  int64_t k = 0;
  for (; k + 4 * W <= n; k += 4 * W) {
    a0 = S::max(a0, S::load(x + k));
    a1 = S::max(a1, S::load(x + k + W));
    a2 = S::max(a2, S::load(x + k + 2 * W));
    a3 = S::max(a3, S::load(x + k + 3 * W));
  }
  for (; k + W <= n; k += W) a0 = S::max(a0, S::load(x + k));
  if (k < n) a1 = S::max(a1, S::load_or(x + k, S::tail(n - k), lowest));
  return S::hmax(S::max(S::max(a0, a1), S::max(a2, a3)));
}

}  // namespace
}  // namespace kiln::kernels::x86
