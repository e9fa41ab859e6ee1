// The AVX2 and AVX-512 kernels (src/kernels/x86/) vs the reference kernels: LayerNormalization,
// SkipLayerNormalization, Softmax, Gelu, Erf, Exp, Add, Mul, at sizes below, at and above the vector
// widths (8 and 16 floats), odd sizes, and shapes large enough to take the OpenMP path; plus dense
// sweeps of the vectorised exp / erf / GELU against std:: in double. Each tier is skipped (not failed)
// on a CPU without it. Tolerances: kTolFastNorm, kTolFastGelu, kTolFastMath, kTolExact (test_util.h).
#include <cmath>
#include <limits>

#include "kernels/x86/x86_kernels.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using kernels::Isa;

const int64_t kHidden[] = {1, 7, 15, 16, 17, 31, 33, 64, 100, 384, 768, 1031};
const int64_t kRows[] = {1, 3, 37};
constexpr float kMasked = -3.4028234663852886e38f;  // finfo(float32).min, the exporters' additive mask

class X86Kernels : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (kernels::detected_isa() < GetParam())
      GTEST_SKIP() << "this CPU has no " << kernels::isa_name(GetParam()) << " (detected "
                   << kernels::isa_name(kernels::detected_isa()) << ")";
  }
  Isa isa() const { return GetParam(); }

  // Runs `op` at this tier and at ref on the same inputs; every output must agree within `tol`
  // (`sum_tol` for outputs listed in `exact_outputs`).
  void expect_matches_ref(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<OutSpec>& outs,
                          const ir::Attrs& attrs, Tolerance tol, std::vector<size_t> exact_outputs = {}) {
    std::vector<Tensor> fast = run_kernel(op, DType::f32, isa(), inputs, outs, attrs);
    std::vector<Tensor> ref = run_kernel(op, DType::f32, Isa::ref, inputs, outs, attrs);
    for (size_t i = 0; i < outs.size(); ++i) {
      bool exact = false;
      for (size_t e : exact_outputs) exact = exact || e == i;
      EXPECT_CLOSE(fast[i], ref[i], exact ? kTolExact : tol) << op << " output #" << i;
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Tiers, X86Kernels, ::testing::Values(Isa::avx2, Isa::avx512),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(kernels::isa_name(info.param)); });

// a * random_f32 + b, elementwise.
Tensor random_scaled(const Dims& dims, uint64_t seed, float a, float b = 0) {
  Tensor t = random_f32(dims, seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = a * t.data_as<float>()[i] + b;
  return t;
}

// ---- LayerNormalization ------------------------------------------------------------------------------

TEST_P(X86Kernels, LayerNormLastAxisAllSizes) {
  for (int64_t rows : kRows)
    for (int64_t h : kHidden) {
      SCOPED_TRACE("rows " + std::to_string(rows) + " hidden " + std::to_string(h));
      const uint64_t seed = static_cast<uint64_t>(rows * 10000 + h);
      Tensor x = random_f32({rows, h}, seed), scale = random_f32({h}, seed + 1), bias = random_f32({h}, seed + 2);
      const Dims stat{rows, 1};
      // With bias and both statistics outputs (default epsilon 1e-5).
      expect_matches_ref("LayerNormalization", {x, scale, bias},
                         {{DType::f32, {rows, h}}, {DType::f32, stat}, {DType::f32, stat}}, Attr(), kTolFastNorm);
      // Without bias, y only, BERT's epsilon.
      expect_matches_ref("LayerNormalization", {x, scale}, {{DType::f32, {rows, h}}}, Attr().f("epsilon", 1e-12),
                         kTolFastNorm);
    }
}

TEST_P(X86Kernels, LayerNormLargeMeanAndOtherAxes) {
  // Rows whose mean is 1e3-1e4 times their spread: a plain fp32 mean would be off by ulp(mean).
  for (float offset : {1000.f, -3e4f})
    for (int64_t h : {33, 768, 1031}) {
      SCOPED_TRACE("offset " + std::to_string(offset) + " hidden " + std::to_string(h));
      Tensor x = random_scaled({5, h}, 77 + h, 1.f, offset);
      expect_matches_ref("LayerNormalization", {x, random_f32({h}, 3), random_f32({h}, 4)},
                         {{DType::f32, {5, h}}, {DType::f32, {5, 1}}, {DType::f32, {5, 1}}}, Attr(), kTolFastNorm);
    }
  // Normalising over the last two axes (and all axes): still contiguous rows.
  Tensor x = random_f32({4, 3, 17}, 5);
  expect_matches_ref("LayerNormalization", {x, random_f32({3, 17}, 6), random_f32({3, 17}, 7)},
                     {{DType::f32, {4, 3, 17}}, {DType::f32, {4, 1, 1}}, {DType::f32, {4, 1, 1}}}, Attr().i("axis", 1),
                     kTolFastNorm);
  expect_matches_ref("LayerNormalization", {x, random_f32({4, 3, 17}, 8)}, {{DType::f32, {4, 3, 17}}},
                     Attr().i("axis", 0), kTolFastNorm);
  // A constant row: variance 0, y = beta.
  Tensor c = tensor<float>({2, 5}, {3, 3, 3, 3, 3, -1, -1, -1, -1, -1});
  expect_matches_ref("LayerNormalization", {c, random_f32({5}, 9), random_f32({5}, 10)}, {{DType::f32, {2, 5}}},
                     Attr(), kTolFastNorm);
}

// ---- SkipLayerNormalization ------------------------------------------------------------------------

TEST_P(X86Kernels, SkipLayerNormAllSizes) {
  for (int64_t rows : kRows)
    for (int64_t h : kHidden) {
      SCOPED_TRACE("rows " + std::to_string(rows) + " hidden " + std::to_string(h));
      const uint64_t seed = static_cast<uint64_t>(rows * 20000 + h);
      const Dims d{rows, h};
      Tensor x = random_scaled(d, seed, 2.f), skip = random_f32(d, seed + 1);
      Tensor gamma = random_f32({h}, seed + 2), beta = random_f32({h}, seed + 3), bias = random_f32({h}, seed + 4);
      // Every input, both outputs; `sum` is the same fp32 additions as the reference: exact.
      expect_matches_ref("SkipLayerNormalization", {x, skip, gamma, beta, bias}, {{DType::f32, d}, {DType::f32, d}},
                         Attr(), kTolFastNorm, {1});
      // beta omitted (-1), no bias, y only.
      expect_matches_ref("SkipLayerNormalization", {x, skip, gamma, Tensor()}, {{DType::f32, d}}, Attr(), kTolFastNorm);
      // bias but no beta, custom epsilon, sum output.
      expect_matches_ref("SkipLayerNormalization", {x, skip, gamma, Tensor(), bias}, {{DType::f32, d}, {DType::f32, d}},
                         Attr().f("epsilon", 1e-5), kTolFastNorm, {1});
    }
  // Rank 3 (batch, sequence, hidden), as the fusion pass produces it.
  const Dims d{2, 37, 768};
  expect_matches_ref("SkipLayerNormalization",
                     {random_f32(d, 1), random_f32(d, 2), random_f32({768}, 3), random_f32({768}, 4)},
                     {{DType::f32, d}, {DType::f32, d}}, Attr(), kTolFastNorm, {1});
}

// ---- Softmax -----------------------------------------------------------------------------------------

// Scores in [-4, 4) with every third element masked by -3.4e38 and, with 3+ rows, row 1 fully masked.
Tensor masked_scores(int64_t rows, int64_t n, uint64_t seed) {
  Tensor t = random_scaled({rows, n}, seed, 4.f);
  float* p = t.data_as<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k)
      if ((r + k) % 3 == 0 || (rows >= 3 && r == 1)) p[r * n + k] = kMasked;
  return t;
}

TEST_P(X86Kernels, SoftmaxLastAxisAllSizesWithMasks) {
  for (int64_t rows : kRows)
    for (int64_t h : kHidden) {
      SCOPED_TRACE("rows " + std::to_string(rows) + " n " + std::to_string(h));
      const Dims d{rows, h};
      const uint64_t seed = static_cast<uint64_t>(rows * 30000 + h);
      expect_matches_ref("Softmax", {random_scaled(d, seed, 8.f)}, {{DType::f32, d}}, Attr(), kTolFastNorm);
      expect_matches_ref("Softmax", {masked_scores(rows, h, seed)}, {{DType::f32, d}}, Attr().i("axis", 1),
                         kTolFastNorm);
    }
}

TEST_P(X86Kernels, SoftmaxFullyMaskedRowIsUniformAndFinite) {
  Tensor m = tensor<float>({3, 3}, {0, kMasked, 1, kMasked, kMasked, 2, kMasked, kMasked, kMasked});
  std::vector<Tensor> out = run_kernel("Softmax", DType::f32, isa(), {m}, {{DType::f32, {3, 3}}});
  EXPECT_TENSOR(out[0], DType::f32, {3, 3},
                {0.26894142136999516, 0, 0.7310585786300049, 0, 0, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3}, kTolFastNorm);
}

TEST_P(X86Kernels, SoftmaxAttentionShapesCoerce2dAndOtherAxes) {
  // [batch, heads, seq, seq] over the last axis.
  const Dims att{2, 3, 37, 37};
  expect_matches_ref("Softmax", {random_scaled(att, 1, 6.f)}, {{DType::f32, att}}, Attr(), kTolFastNorm);
  // coerce_2d (opset < 13): [3, 5, 7] flattened from axis 1 into rows of 35.
  const Dims d{3, 5, 7};
  expect_matches_ref("Softmax", {random_scaled(d, 2, 6.f)}, {{DType::f32, d}}, Attr().i("axis", 1).i("coerce_2d", 1),
                     kTolFastNorm);
  // A single non-last axis is strided: the fast kernel hands it to the reference one (identical).
  expect_matches_ref("Softmax", {random_scaled(d, 3, 6.f)}, {{DType::f32, d}}, Attr().i("axis", 1), kTolExact);
  expect_matches_ref("Softmax", {random_scaled(d, 4, 6.f)}, {{DType::f32, d}}, Attr().i("axis", 0), kTolExact);
}

// ---- Gelu, Erf, Exp ----------------------------------------------------------------------------------

TEST_P(X86Kernels, GeluBothFormsAllSizes) {
  for (const char* form : {"none", "tanh"})
    for (int64_t rows : kRows)
      for (int64_t h : kHidden) {
        SCOPED_TRACE(std::string(form) + " rows " + std::to_string(rows) + " n " + std::to_string(h));
        const Dims d{rows, h};
        expect_matches_ref("Gelu", {random_scaled(d, static_cast<uint64_t>(rows * 40000 + h), 6.f)}, {{DType::f32, d}},
                           Attr().s("approximate", form), kTolFastGelu);
      }
}

// x from -lo to hi in `count` even steps, then specials.
Tensor sweep(double lo, double hi, int64_t count, std::initializer_list<float> extra = {}) {
  std::vector<float> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(static_cast<float>(lo + (hi - lo) * static_cast<double>(i) / (count - 1)));
  for (float e : extra) v.push_back(e);
  return tensor<float>({static_cast<int64_t>(v.size())}, v);
}
// +-10^e for e in [-30, 1] in steps of 1/64: magnitudes near zero, where relative error is exposed.
std::vector<float> log_sweep() {
  std::vector<float> v;
  for (int i = -30 * 64; i <= 64; ++i) {
    const float m = static_cast<float>(std::pow(10.0, i / 64.0));
    v.push_back(m);
    v.push_back(-m);
  }
  return v;
}

TEST_P(X86Kernels, GeluDenseSweepAgainstDoubleFormula) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = sweep(-20, 20, 1 << 21, {0.f, -0.f, 1e-30f, -1e-30f, 1e3f, -1e3f, 3e38f, -3e38f, inf, -inf, nan});
  for (const char* form : {"none", "tanh"}) {
    SCOPED_TRACE(form);
    // The ref kernel evaluates the defining formula in double (0.5 x (1 + erf(x / sqrt 2)), or the tanh
    // one) and rounds once.
    expect_matches_ref("Gelu", {x}, {{DType::f32, x.dims()}}, Attr().s("approximate", form), kTolFastGelu);
  }
}

TEST_P(X86Kernels, ErfDenseSweepAgainstStdErf) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = log_sweep();
  Tensor lin = sweep(-12, 12, 1 << 21, {0.f, -0.f, 0.75f, -0.75f, 10.f, 30.f, -3e38f, inf, -inf, nan});
  for (int64_t i = 0; i < lin.numel(); ++i) v.push_back(lin.data_as<float>()[i]);
  Tensor x = tensor<float>({static_cast<int64_t>(v.size())}, v);
  std::vector<double> expected(v.size());
  for (size_t i = 0; i < v.size(); ++i) expected[i] = std::erf(static_cast<double>(v[i]));
  Tensor y = run_kernel("Erf", DType::f32, isa(), {x}, {{DType::f32, x.dims()}}).at(0);
  EXPECT_CLOSE(y, expected, kTolFastMath);
  EXPECT_TRUE(std::signbit(y.data_as<float>()[v.size() - lin.numel() + (1 << 21) + 1]));  // erf(-0) = -0
}

TEST_P(X86Kernels, ExpDenseSweepAgainstStdExp) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Through the subnormal range (below -87.3) to underflow (below -103.3) and overflow (above 88.72).
  Tensor x = sweep(-110, 95, 1 << 21, {0.f, -0.f, 1e-30f, -1e-30f, kMasked, 3e38f, inf, -inf, nan});
  std::vector<double> expected(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double e = std::exp(static_cast<double>(x.data_as<float>()[i]));
    expected[i] = e > std::numeric_limits<float>::max() ? INFINITY : e;  // what fp32 holds
  }
  EXPECT_CLOSE(run_kernel("Exp", DType::f32, isa(), {x}, {{DType::f32, x.dims()}}).at(0), expected, kTolFastMath);
}

TEST_P(X86Kernels, ErfAndExpMatchRefKernelsOnAllSizes) {
  for (int64_t rows : kRows)
    for (int64_t h : kHidden) {
      const Dims d{rows, h};
      Tensor x = random_scaled(d, static_cast<uint64_t>(rows * 50000 + h), 5.f);
      expect_matches_ref("Erf", {x}, {{DType::f32, d}}, Attr(), kTolFastMath);
      expect_matches_ref("Exp", {x}, {{DType::f32, d}}, Attr(), kTolFastMath);
    }
}

// ---- Add, Mul ----------------------------------------------------------------------------------------

TEST_P(X86Kernels, AddMulSameShapeVectorAndScalarBroadcastsAreExact) {
  for (const char* op : {"Add", "Mul"})
    for (int64_t rows : kRows)
      for (int64_t h : kHidden) {
        SCOPED_TRACE(std::string(op) + " rows " + std::to_string(rows) + " n " + std::to_string(h));
        const uint64_t seed = static_cast<uint64_t>(rows * 60000 + h);
        const Dims d{rows, h};
        Tensor a = random_f32(d, seed), b = random_f32(d, seed + 1), v = random_f32({h}, seed + 2);
        const std::vector<OutSpec> out = {{DType::f32, d}};
        expect_matches_ref(op, {a, b}, out, Attr(), kTolExact);
        expect_matches_ref(op, {a, v}, out, Attr(), kTolExact);  // bias [H] over [rows, H]
        expect_matches_ref(op, {v, a}, out, Attr(), kTolExact);  // the vector first
        expect_matches_ref(op, {a, scalar(1.5f)}, out, Attr(), kTolExact);
        expect_matches_ref(op, {tensor<float>({1, 1}, {-0.25f}), a}, out, Attr(), kTolExact);
      }
}

TEST_P(X86Kernels, AddMulOtherBroadcastsFallBackToRef) {
  for (const char* op : {"Add", "Mul"}) {
    SCOPED_TRACE(op);
    // [2, 1, 37, 17] vector-like with leading 1s; [3, 1, 17] x [1, 4, 17]; an attention mask
    // [2, 1, 1, 37] over scores [2, 3, 37, 37]; a column [5, 1] over [5, 33].
    expect_matches_ref(op, {random_f32({2, 1, 37, 17}, 1), random_f32({1, 1, 17}, 2)}, {{DType::f32, {2, 1, 37, 17}}},
                       Attr(), kTolExact);
    expect_matches_ref(op, {random_f32({3, 1, 17}, 3), random_f32({1, 4, 17}, 4)}, {{DType::f32, {3, 4, 17}}}, Attr(),
                       kTolExact);
    expect_matches_ref(op, {random_f32({2, 3, 37, 37}, 5), random_f32({2, 1, 1, 37}, 6)},
                       {{DType::f32, {2, 3, 37, 37}}}, Attr(), kTolExact);
    expect_matches_ref(op, {random_f32({5, 33}, 7), random_f32({5, 1}, 8)}, {{DType::f32, {5, 33}}}, Attr(), kTolExact);
  }
}

// The planner may place output 0 of elementwise / broadcast ops over input 0 (kernel.h): the fast
// kernels must give the same bits in place as out of place.
TEST_P(X86Kernels, ElementwiseKernelsInPlaceOverInputZero) {
  for (const Dims& d : {Dims{3, 17}, Dims{37, 1031}}) {
    SCOPED_TRACE(dims_to_string(d));
    const int64_t h = d.back();
    Tensor x = random_scaled(d, 91, 4.f), other = random_f32(d, 92), vec = random_f32({h}, 93);
    struct Case {
      const char* op;
      std::vector<Tensor> rest;
      Attr attrs;
    };
    const std::vector<Case> cases = {{"Add", {other}, Attr()},         {"Add", {vec}, Attr()},
                                     {"Add", {scalar(0.5f)}, Attr()},  {"Mul", {other}, Attr()},
                                     {"Mul", {vec}, Attr()},           {"Gelu", {}, Attr()},
                                     {"Gelu", {}, Attr().s("approximate", "tanh")},
                                     {"Erf", {}, Attr()},              {"Exp", {}, Attr()}};
    for (const Case& c : cases) {
      SCOPED_TRACE(c.op);
      std::vector<Tensor> inputs = {x};
      inputs.insert(inputs.end(), c.rest.begin(), c.rest.end());
      Tensor expected = run_kernel(c.op, DType::f32, isa(), inputs, {{DType::f32, d}}, c.attrs).at(0);
      Tensor buf(DType::f32, d);
      std::memcpy(buf.data(), x.data(), x.nbytes());
      kernels::KernelContext ctx{c.attrs, {arg_of(buf)}, {arg_of(buf)}};
      for (const Tensor& t : c.rest) ctx.inputs.push_back(arg_of(t));
      kernels::find_kernel(c.op, DType::f32, isa())->fn(ctx);
      EXPECT_CLOSE(buf, expected, kTolExact);
    }
  }
}

// ---- dispatch ----------------------------------------------------------------------------------------

// The attention softmax's bf16 writers: the integer rounding (every AVX-512 CPU) and vcvtneps2bf16
// (avx512_bf16 CPUs) give the same bits, which are the fp32 writer's probabilities rounded by
// util/half.h; at every size around the vector width, with a per-row mask and a stride-0 mask.
TEST(X86AttentionProbs, Bf16WritersAgreeBitForBitWithTheFp32One) {
  if (kernels::detected_isa() < Isa::avx512) GTEST_SKIP() << "needs the avx512 tier";
  for (int64_t n : kHidden) {
    const int64_t rows = 5;
    Tensor mask = random_f32({rows, n}, 800 + n);
    for (int64_t i = 0; i < mask.numel(); i += 4) mask.data_as<float>()[i] = kMasked;
    std::vector<int64_t> offset(rows);
    for (int64_t r = 0; r < rows; ++r) offset[r] = r * n;
    for (int64_t stride : {1, 0}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " mask stride " + std::to_string(stride));
      // Three copies of the same scores (each writer overwrites its own in place).
      Tensor f32 = random_f32({rows, n}, 700 + n), s1 = random_f32({rows, n}, 700 + n), s2 = random_f32({rows, n}, 700 + n);
      std::vector<uint16_t> integer(rows * n), instruction(rows * n);
      const float* m = mask.data_as<float>();
      kernels::x86::attention_probs_avx512(f32.data_as<float>(), n, 0.7f, m, offset.data(), stride, 0, rows);
      kernels::x86::attention_probs_bf16_avx512(s1.data_as<float>(), integer.data(), n, 0.7f, m, offset.data(), stride, 0, rows);
      for (int64_t i = 0; i < rows * n; ++i) ASSERT_EQ(integer[i], f32_to_bf16(f32.data_as<float>()[i])) << i;
      if (!kernels::has_avx512_bf16()) continue;
      kernels::x86::attention_probs_bf16_avx512bf16(s2.data_as<float>(), instruction.data(), n, 0.7f, m, offset.data(), stride, 0, rows);
      EXPECT_EQ(instruction, integer);
    }
  }
}

TEST(X86Dispatch, HotOpsSelectTheActiveTier) {
  for (const char* op : {"LayerNormalization", "SkipLayerNormalization", "Softmax", "Gelu", "Erf", "Exp", "Add", "Mul"}) {
    const kernels::KernelEntry* k = kernels::select_kernel(op, DType::f32);
    ASSERT_NE(k, nullptr) << op;
    EXPECT_EQ(k->isa, kernels::active_isa()) << op << " -> " << k->name;
    EXPECT_NE(kernels::find_kernel(op, DType::f32, Isa::ref), nullptr) << op;
  }
}

// Registration does not depend on the CPU: a family left out of register_x86.cc's list shows here.
TEST(X86Dispatch, EveryFamilyRegistersItsTiers) {
  for (const char* op : {"LayerNormalization", "SkipLayerNormalization", "Softmax", "Gelu", "Erf", "Exp", "Add", "Mul"})
    for (Isa isa : {Isa::avx2, Isa::avx512}) {
      const kernels::KernelEntry* k = kernels::find_kernel(op, DType::f32, isa);
      ASSERT_NE(k, nullptr) << op << " at " << kernels::isa_name(isa);
      EXPECT_NE(k->name.find(std::string("_f32_") + kernels::isa_name(isa)), std::string::npos) << k->name;
    }
  for (DType t : {DType::f32, DType::bf16, DType::f16})
    EXPECT_NE(kernels::find_kernel("Cast", t, Isa::avx512), nullptr) << dtype_name(t);
}

}  // namespace
}  // namespace kiln::test
