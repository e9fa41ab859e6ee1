#!/usr/bin/env python3
"""Derives the polynomial coefficients of the vectorised fp32 exp/erf/erfc in src/kernels/x86/.

Near-minimax fits by Lawson's algorithm (iteratively reweighted least squares) on a dense grid in
float64, then the coefficients are rounded to float32 and the fp32 Horner evaluation (one rounding per
fused multiply-add, as the kernels do) is simulated to report the achieved error. Run:

    /usr/bin/python3 tools/kernels/fit_vec_math.py

  exp:   e^r ~ p(r) on r in [-ln2/2, ln2/2] (after n = round(x / ln2), r = x - n ln2), relative error.
  erfc:  erfc(z) ~ t * exp(-z^2 + P(u)), t = 1 / (1 + z/2), u = t - 1/2 = (2 - z) / (4 + 2z), z in
         [0, 10] (erfc(10) is far below the smallest fp32); absolute error in the exponent = relative
         error of erfc. Centring the variable (u rather than t) keeps the fp32 coefficients small.
  erf:   erf(z) ~ z * Q(z^2) on z in [0, ZSMALL], relative error.
"""
import math

import numpy as np

ZSMALL = 0.75


def lawson(xs, target, weight, degree, iters=200):
    """Polynomial c (lowest degree first) minimising max |(poly(xs) - target) * weight|."""
    a = np.vander(xs, degree + 1, increasing=True)
    w = np.ones_like(xs) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * (sw * weight)[:, None], target * weight * sw, rcond=None)
        err = np.abs((a @ c - target) * weight)
        w = w * err
        w /= w.sum()
    return c


def horner32(coeffs, x):
    """fp32 Horner with one rounding per step (fused multiply-add)."""
    c32 = [np.float32(c) for c in coeffs]
    acc = np.full_like(x, c32[-1], dtype=np.float64)
    x64 = x.astype(np.float64)
    for c in reversed(c32[:-1]):
        acc = (acc * x64 + np.float64(c)).astype(np.float32).astype(np.float64)
    return acc


def show(name, coeffs):
    print(f"  {name}:")
    for i, c in enumerate(coeffs):
        print(f"    c{i} = {np.float32(c)!r:>18}f  ({float(np.float32(c)).hex()})")


def fit_exp(degree=6):
    h = math.log(2) / 2
    r = np.linspace(-h, h, 20001)
    c = lawson(r, np.exp(r), np.exp(-r), degree)
    r32 = r.astype(np.float32)
    rel = np.max(np.abs(horner32(c, r32) / np.exp(r32.astype(np.float64)) - 1))
    print(f"exp degree {degree}: fp32 Horner max rel error {rel:.3g}")
    show("exp", c)


def fit_erfc(degree):
    t = np.linspace(1 / 6, 1.0, 40001)
    z = 2 * (1 / t - 1)
    g = np.array([math.log(math.erfc(v)) for v in z]) + z * z - np.log(t)
    u = t - 0.5
    c = lawson(u, g, np.ones_like(t), degree)
    u32 = u.astype(np.float32)
    err = np.max(np.abs(horner32(c, u32) - g))
    print(f"erfc degree {degree}: fp32 Horner max abs error of exponent (= rel error of erfc) {err:.3g}")
    return c


def fit_erf_small(degree):
    z = np.linspace(1e-6, ZSMALL, 20001)
    q = np.array([math.erf(v) / v for v in z])
    c = lawson(z * z, q, 1 / q, degree)
    z32 = z.astype(np.float32)
    got = horner32(c, (z32.astype(np.float64) ** 2).astype(np.float32)) * z32
    want = np.array([math.erf(float(v)) for v in z32])
    rel = np.max(np.abs(got / want - 1))
    print(f"erf small (|z| <= {ZSMALL}) degree {degree} in z^2: max rel error {rel:.3g}")
    return c


if __name__ == "__main__":
    fit_exp(6)
    for d in (8, 10):
        fit_erfc(d)
    show("erfc P(u)", fit_erfc(9))
    for d in (4, 6):
        fit_erf_small(d)
    show("erf Q(z^2)", fit_erf_small(5))
