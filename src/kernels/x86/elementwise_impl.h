// Flat elementwise loops (GELU, Erf, Exp, Add/Mul) over [begin, end), written once over the SIMD
// traits. Include only from ISA-compiled files, after the traits header; internal linkage (see
// x86_kernels.h).
#pragma once

#include <cstdint>

#include "kernels/x86/loops_impl.h"
#include "kernels/x86/vec_math.h"
#include "kernels/x86/x86_kernels.h"

namespace kiln::kernels::x86 {
namespace {

// y[i] = f(x[i]) for i in [begin, end).
template <class S, class F> inline void map_range(const float* x, float* y, int64_t begin, int64_t end, F&& f) {
  using M = typename S::M;
  x += begin;
  y += begin;
  for_vectors<S>(end - begin, [&](int64_t k, M m, auto full) {
    constexpr bool B = decltype(full)::value;
    st<S, B>(y + k, f(ld<S, B>(x + k, m)), m);
  });
}

template <class S> void gelu_range(const float* x, float* y, bool tanh_form, int64_t begin, int64_t end) {
  using V = typename S::V;
  if (tanh_form) map_range<S>(x, y, begin, end, [](V v) { return vgelu_tanh<S>(v); });
  else map_range<S>(x, y, begin, end, [](V v) { return vgelu_erf<S>(v); });
}

template <class S> void erf_range(const float* x, float* y, int64_t begin, int64_t end) {
  map_range<S>(x, y, begin, end, [](typename S::V v) { return verf<S>(v); });
}

template <class S> void exp_range(const float* x, float* y, int64_t begin, int64_t end) {
  map_range<S>(x, y, begin, end, [](typename S::V v) { return vexp<S>(v); });
}

template <class S> inline typename S::V apply(BinaryOp op, typename S::V a, typename S::V b) {
  return op == BinaryOp::add ? S::add(a, b) : S::mul(a, b);
}

// Same-shape operands; the op is hoisted out of the loop by instantiating one loop per op.
template <class S, BinaryOp Op>
void binary_same_loop(const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  using M = typename S::M;
  a += begin, b += begin, y += begin;
  for_vectors<S>(end - begin, [&](int64_t k, M m, auto full) {
    constexpr bool B = decltype(full)::value;
    st<S, B>(y + k, apply<S>(Op, ld<S, B>(a + k, m), ld<S, B>(b + k, m)), m);
  });
}
template <class S> void binary_same(BinaryOp op, const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  if (op == BinaryOp::add) binary_same_loop<S, BinaryOp::add>(a, b, y, begin, end);
  else binary_same_loop<S, BinaryOp::mul>(a, b, y, begin, end);
}

template <class S, BinaryOp Op>
void binary_scalar_loop(const float* a, float s, float* y, int64_t begin, int64_t end) {
  const typename S::V sv = S::set1(s);
  map_range<S>(a, y, begin, end, [sv](typename S::V v) { return apply<S>(Op, v, sv); });
}
template <class S> void binary_scalar(BinaryOp op, const float* a, float s, float* y, int64_t begin, int64_t end) {
  if (op == BinaryOp::add) binary_scalar_loop<S, BinaryOp::add>(a, s, y, begin, end);
  else binary_scalar_loop<S, BinaryOp::mul>(a, s, y, begin, end);
}

template <class S, BinaryOp Op>
void binary_rows_loop(const float* a, const float* v, float* y, int64_t n, int64_t begin, int64_t end) {
  using M = typename S::M;
  for (int64_t r = begin; r < end; ++r) {
    const float* ar = a + r * n;
    float* yr = y + r * n;
    for_vectors<S>(n, [&](int64_t k, M m, auto full) {
      constexpr bool B = decltype(full)::value;
      st<S, B>(yr + k, apply<S>(Op, ld<S, B>(ar + k, m), ld<S, B>(v + k, m)), m);
    });
  }
}
template <class S>
void binary_rows(BinaryOp op, const float* a, const float* v, float* y, int64_t n, int64_t begin, int64_t end) {
  if (op == BinaryOp::add) binary_rows_loop<S, BinaryOp::add>(a, v, y, n, begin, end);
  else binary_rows_loop<S, BinaryOp::mul>(a, v, y, n, begin, end);
}

}  // namespace
}  // namespace kiln::kernels::x86
