// Low precision: the 16-bit conversions, the Cast kernels, FusedMatMul in bf16 / fp16 / int8 (oneDNN vs
// the reference at odd sizes, and int8 against fp32 within the analytic quantisation bound), and the
// widened 16-bit kernels. Tolerances: the low-precision section of test_util.h.
#include <cmath>
#include <limits>

#include "kernels/quantize.h"
#include "kernels/x86/x86_kernels.h"
#include "test_util.h"
#include "util/half.h"

namespace kiln::test {
namespace {

using kernels::Isa;

bool has_avx2() { return kernels::detected_isa() >= Isa::avx2; }
bool has_avx512() { return kernels::detected_isa() >= Isa::avx512; }

// `t` (f32) rounded to a 16-bit type.
Tensor narrow(const Tensor& t, DType to) {
  Tensor out(to, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i)
    out.data_as<uint16_t>()[i] = to == DType::bf16 ? f32_to_bf16(t.data_as<float>()[i]) : f32_to_f16(t.data_as<float>()[i]);
  return out;
}
Tensor widen(const Tensor& t) {
  Tensor out(DType::f32, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) out.data_as<float>()[i] = static_cast<float>(element(t, i));
  return out;
}

TEST(HalfConversion, RoundsToNearestEvenAndKeepsSpecials) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);      // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);      // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(-2.5f), 0xc020);
  EXPECT_EQ(f32_to_bf16(1e-40f), 0x0000);                 // fp32 denormal flushed, as vcvtneps2bf16
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(INFINITY)), INFINITY);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.f), 0x7bff);                 // largest finite
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00);                 // rounds to infinity
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(5.960464477539063e-8f), 0x0001);   // smallest subnormal
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);      // tie -> even
  EXPECT_FLOAT_EQ(f16_to_f32(0x0001), 5.960464477539063e-8f);
  EXPECT_FLOAT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  for (float x : {0.1f, -3.3f, 1000.5f, 1e-3f}) {
    EXPECT_NEAR(bf16_to_f32(f32_to_bf16(x)), x, std::fabs(x) * kTolBf16Store.rel);
    EXPECT_NEAR(f16_to_f32(f32_to_f16(x)), x, std::fabs(x) * kTolF16Store.rel);
  }
}

TEST(Cast, SixteenBitReferenceRoundTrips) {
  Tensor x = tensor<float>({5}, {1.f, -2.5f, 0.1f, 65504.f, 1e-40f});
  Tensor b = eval1("Cast", {x}, Attr().s("to", "bf16"));
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_TENSOR(eval1("Cast", {b}, Attr().s("to", "f32")), DType::f32, {5},
                {1.0, -2.5, bf16_to_f32(f32_to_bf16(0.1f)), 65536.0, 0.0}, kTolExact);
  Tensor h = eval1("Cast", {x}, Attr().s("to", "f16"));
  EXPECT_TENSOR(eval1("Cast", {h}, Attr().s("to", "f32")), DType::f32, {5},
                {1.0, -2.5, f16_to_f32(f32_to_f16(0.1f)), 65504.0, 0.0}, kTolExact);
}

TEST(Cast, Avx512MatchesReferenceBitForBit) {
  if (!has_avx512()) GTEST_SKIP() << "needs the avx512 tier";
  for (int64_t n : {1, 15, 17, 1000, 4099}) {
    Tensor x = random_f32({n}, 7 + n);
    float* p = x.data_as<float>();
    // Specials: ties, NaN, infinities, denormals, fp16 overflow and subnormals.
    const float specials[] = {1.0f + 1.0f / 256, NAN, INFINITY, -INFINITY, 1e-40f, -1e-41f, 70000.f, 3e-6f, -0.0f};
    for (size_t i = 0; i < sizeof specials / sizeof *specials && static_cast<int64_t>(i) < n; ++i) p[i] = specials[i];
    for (DType t : {DType::bf16, DType::f16}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(n));
      Attr to = Attr().s("to", dtype_name(t));
      Tensor ref = run_kernel("Cast", DType::f32, Isa::ref, {x}, {{t, {n}}}, to)[0];
      Tensor fast = run_kernel("Cast", DType::f32, Isa::avx512, {x}, {{t, {n}}}, to)[0];
      EXPECT_EQ(std::memcmp(ref.data(), fast.data(), n * 2), 0);
      Attr back = Attr().s("to", "f32");
      Tensor ref32 = run_kernel("Cast", t, Isa::ref, {ref}, {{DType::f32, {n}}}, back)[0];
      Tensor fast32 = run_kernel("Cast", t, Isa::avx512, {ref}, {{DType::f32, {n}}}, back)[0];
      EXPECT_EQ(std::memcmp(ref32.data(), fast32.data(), n * 4), 0);
    }
  }
}

struct GemmCase {
  Dims a;
  int64_t n;
  bool trans_b, bias, residual;
  const char* act;
};
const GemmCase kCases[] = {
    {{1, 1}, 1, false, false, false, "none"},     {{3, 17}, 15, false, true, false, "gelu_erf"},
    {{2, 37, 33}, 16, false, true, true, "none"}, {{5, 64}, 129, true, true, false, "gelu_tanh"},
    {{3, 7, 129}, 33, true, false, true, "relu"}, {{1, 128, 60}, 240, false, true, false, "gelu_erf"},
};

Dims out_dims(const GemmCase& c) {
  Dims d = c.a;
  d.back() = c.n;
  return d;
}

// 16-bit A and W (and residual when the output is 16-bit), f32 bias; fast (oneDNN) vs reference.
void check_half_gemm(DType t, Isa isa, DType out_type) {
  uint64_t seed = 300;
  for (const GemmCase& c : kCases) {
    const int64_t k = c.a.back();
    const Dims out = out_dims(c);
    std::vector<Tensor> in = {narrow(random_f32(c.a, seed++), t),
                              narrow(random_f32(c.trans_b ? Dims{c.n, k} : Dims{k, c.n}, seed++), t)};
    in.push_back(c.bias ? random_f32({c.n}, seed++) : Tensor());
    if (c.residual) in.push_back(out_type == DType::f32 ? random_f32(out, seed++) : narrow(random_f32(out, seed++), t));
    Attr attrs = Attr().s("activation", c.act).i("trans_b", c.trans_b ? 1 : 0).s("out_dtype", dtype_name(out_type));
    SCOPED_TRACE(std::string(dtype_name(t)) + " -> " + dtype_name(out_type) + " " + dims_to_string(c.a) + " n=" + std::to_string(c.n));
    Tensor ref = run_kernel("FusedMatMul", t, Isa::ref, in, {{out_type, out}}, attrs)[0];
    Tensor fast = run_kernel("FusedMatMul", t, isa, in, {{out_type, out}}, attrs)[0];
    Tolerance tol = gemm_tolerance(k, 2.0);
    if (out_type != DType::f32) tol.rel = (out_type == DType::bf16 ? kTolBf16Store : kTolF16Store).rel;
    EXPECT_CLOSE(fast, ref, tol);
  }
}

TEST(FusedMatMul, Bf16OneDnnMatchesReferenceAtOddSizes) {
  if (!has_avx512()) GTEST_SKIP() << "needs the avx512 tier";
  check_half_gemm(DType::bf16, Isa::avx512, DType::f32);
  check_half_gemm(DType::bf16, Isa::avx512, DType::bf16);
}

TEST(FusedMatMul, F16OneDnnMatchesReferenceAtOddSizes) {
  if (!has_avx2()) GTEST_SKIP() << "needs the avx2 tier";
  check_half_gemm(DType::f16, Isa::avx2, DType::f32);
  check_half_gemm(DType::f16, Isa::avx2, DType::f16);
}

TEST(FusedMatMul, F16Avx512StagingMatchesScalarStagingBitForBit) {
  if (!has_avx512()) GTEST_SKIP() << "needs the avx512 tier";
  check_half_gemm(DType::f16, Isa::avx512, DType::f32);
  check_half_gemm(DType::f16, Isa::avx512, DType::f16);
  // The AVX-512 conversions round exactly as util/half.h, and the f32 GEMM between them is the same.
  uint64_t seed = 700;
  for (const GemmCase& c : kCases) {
    const int64_t k = c.a.back();
    const Dims out = out_dims(c);
    std::vector<Tensor> in = {narrow(random_f32(c.a, seed++), DType::f16),
                              narrow(random_f32(c.trans_b ? Dims{c.n, k} : Dims{k, c.n}, seed++), DType::f16),
                              c.bias ? random_f32({c.n}, seed++) : Tensor()};
    if (c.residual) in.push_back(narrow(random_f32(out, seed++), DType::f16));
    Attr attrs = Attr().s("activation", c.act).i("trans_b", c.trans_b ? 1 : 0).s("out_dtype", "f16");
    SCOPED_TRACE(dims_to_string(c.a) + " n=" + std::to_string(c.n));
    Tensor scalar = run_kernel("FusedMatMul", DType::f16, Isa::avx2, in, {{DType::f16, out}}, attrs)[0];
    Tensor vector = run_kernel("FusedMatMul", DType::f16, Isa::avx512, in, {{DType::f16, out}}, attrs)[0];
    EXPECT_EQ(std::memcmp(scalar.data(), vector.data(), scalar.nbytes()), 0);
  }
}

TEST(FusedMatMul, Bf16ReferenceIsTheFp32GemmOfTheRoundedInputs) {
  const GemmCase& c = kCases[3];
  const int64_t k = c.a.back();
  Tensor a = random_f32(c.a, 1), w = random_f32({c.n, k}, 2), bias = random_f32({c.n}, 3);
  Attr attrs = Attr().s("activation", c.act).i("trans_b", 1);
  Tensor low = run_kernel("FusedMatMul", DType::bf16, Isa::ref, {narrow(a, DType::bf16), narrow(w, DType::bf16), bias},
                          {{DType::f32, out_dims(c)}}, Attr(attrs).s("out_dtype", "f32"))[0];
  Tensor fp32 = run_kernel("FusedMatMul", DType::f32, Isa::ref,
                           {widen(narrow(a, DType::bf16)), widen(narrow(w, DType::bf16)), bias}, {{DType::f32, out_dims(c)}}, attrs)[0];
  EXPECT_CLOSE(low, fp32, kTolF32);
}

// int8: per-column weight scales; A quantised per tensor.
struct Int8Gemm {
  std::vector<Tensor> inputs;  // A, W (i8), bias, residual, scales
  Tensor w_f32;
};
Int8Gemm quantised_case(const GemmCase& c, uint64_t seed) {
  const int64_t k = c.a.back();
  Int8Gemm q;
  q.w_f32 = random_f32(c.trans_b ? Dims{c.n, k} : Dims{k, c.n}, seed + 1);
  Tensor wq(DType::i8, q.w_f32.dims()), scales(DType::f32, {c.n});
  for (int64_t j = 0; j < c.n; ++j) {
    auto at = [&](int64_t p) { return c.trans_b ? j * k + p : p * c.n + j; };
    float absmax = 0;
    for (int64_t p = 0; p < k; ++p) absmax = std::max(absmax, std::fabs(q.w_f32.data_as<float>()[at(p)]));
    scales.data_as<float>()[j] = kernels::quant_scale(absmax);
    for (int64_t p = 0; p < k; ++p)
      wq.data_as<int8_t>()[at(p)] = kernels::quantize_s8(q.w_f32.data_as<float>()[at(p)], 1.f / scales.data_as<float>()[j]);
  }
  q.inputs = {random_f32(c.a, seed), wq, c.bias ? random_f32({c.n}, seed + 2) : Tensor(),
              c.residual ? random_f32(out_dims(c), seed + 3) : Tensor(), scales};
  return q;
}

TEST(FusedMatMul, Int8OneDnnMatchesReferenceAtOddSizes) {
  if (!has_avx2()) GTEST_SKIP() << "needs the avx2 tier";
  uint64_t seed = 500;
  for (const GemmCase& c : kCases)
    for (const char* mode : {"dynamic", "static"}) {
      Int8Gemm q = quantised_case(c, seed += 10);
      Attr attrs = Attr().s("activation", c.act).i("trans_b", c.trans_b ? 1 : 0).s("quant", mode).f("act_scale", 0.8 / 127);
      SCOPED_TRACE(std::string(mode) + " " + dims_to_string(c.a) + " n=" + std::to_string(c.n));
      Tensor ref = run_kernel("FusedMatMul", DType::i8, Isa::ref, q.inputs, {{DType::f32, out_dims(c)}}, attrs)[0];
      // avx2: scalar activation quantisation; avx512: the vector one (must round identically).
      for (Isa isa : {Isa::avx2, Isa::avx512}) {
        if (kernels::detected_isa() < isa) continue;
        Tensor fast = run_kernel("FusedMatMul", DType::i8, isa, q.inputs, {{DType::f32, out_dims(c)}}, attrs)[0];
        EXPECT_CLOSE(fast, ref, gemm_tolerance(c.a.back(), 2.0)) << kernels::isa_name(isa);
      }
    }
}

// A bf16 A (an int8 GEMM's input under --auto-cast matmult) quantises exactly as its f32 copy: every
// tier gives the f32-A result bit for bit.
TEST(FusedMatMul, Int8WithBf16AIsTheGemmOfItsWidenedCopy) {
  uint64_t seed = 700;
  for (const GemmCase& c : kCases)
    for (const char* mode : {"dynamic", "static"}) {
      Int8Gemm q = quantised_case(c, seed += 10);
      std::vector<Tensor> low = q.inputs, wide = q.inputs;
      low[0] = narrow(q.inputs[0], DType::bf16);
      wide[0] = widen(low[0]);
      Attr attrs = Attr().s("activation", c.act).i("trans_b", c.trans_b ? 1 : 0).s("quant", mode).f("act_scale", 0.8 / 127);
      SCOPED_TRACE(std::string(mode) + " " + dims_to_string(c.a) + " n=" + std::to_string(c.n));
      for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512}) {
        if (kernels::detected_isa() < isa) continue;
        Tensor got = run_kernel("FusedMatMul", DType::i8, isa, low, {{DType::f32, out_dims(c)}}, attrs)[0];
        Tensor want = run_kernel("FusedMatMul", DType::i8, isa, wide, {{DType::f32, out_dims(c)}}, attrs)[0];
        EXPECT_CLOSE(got, want, Tolerance{0, 0}) << kernels::isa_name(isa);
      }
    }
}

// The int8 GEMM (no activation: the bound is on A x W + bias) against fp32 within the worst case of
// its quantisation: |sum a w - sum qa qw| <= sum |a| dw + |w| da + da dw.
TEST(FusedMatMul, Int8ErrorWithinTheQuantisationBound) {
  for (const GemmCase& c : kCases) {
    Int8Gemm q = quantised_case(c, 900);
    const Tensor& a = q.inputs[0];
    const int64_t k = c.a.back(), m = a.numel() / k;
    float absmax = 0;
    for (int64_t i = 0; i < a.numel(); ++i) absmax = std::max(absmax, std::fabs(a.data_as<float>()[i]));
    const double da = kernels::quant_scale(absmax) / 2;
    Attr attrs = Attr().i("trans_b", c.trans_b ? 1 : 0);
    Tensor got = run_kernel("FusedMatMul", DType::i8, Isa::ref, q.inputs, {{DType::f32, out_dims(c)}}, Attr(attrs).s("quant", "dynamic"))[0];
    std::vector<Tensor> f32_in = {a, q.w_f32, q.inputs[2], q.inputs[3]};
    Tensor want = run_kernel("FusedMatMul", DType::f32, Isa::ref, f32_in, {{DType::f32, out_dims(c)}}, attrs)[0];
    SCOPED_TRACE(dims_to_string(c.a) + " n=" + std::to_string(c.n));
    int bad = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        const double dw = q.inputs[4].data_as<float>()[j] / 2;
        double bound = 1e-5;
        for (int64_t p = 0; p < k; ++p) {
          const double av = std::fabs(a.data_as<float>()[i * k + p]);
          const double wv = std::fabs(q.w_f32.data_as<float>()[c.trans_b ? j * k + p : p * c.n + j]);
          bound += av * dw + wv * da + da * dw;
        }
        const double diff = std::fabs(element(got, i * c.n + j) - element(want, i * c.n + j));
        bad += diff > bound;
      }
    EXPECT_EQ(bad, 0);
  }
}

TEST(Quantize, SymmetricRuleSaturatesAndRoundsHalfEven) {
  EXPECT_FLOAT_EQ(kernels::quant_scale(127.f), 1.f);
  EXPECT_FLOAT_EQ(kernels::quant_scale(0.f), 1.f);
  EXPECT_EQ(kernels::quantize_s8(2.5f, 1.f), 2);
  EXPECT_EQ(kernels::quantize_s8(3.5f, 1.f), 4);
  EXPECT_EQ(kernels::quantize_s8(-300.f, 1.f), -127);
  EXPECT_EQ(kernels::quantize_s8(1000.f, 1.f), 127);
}

// u8 with zero point 128 (what the int8 GEMM feeds VNNI): exactly the s8 value + 128, never 0; the
// AVX-512 quantiser and absmax bit for bit the scalar rule, from f32 and from bf16 (widened exactly), at
// every tail length and offset around the 64-element stores.
TEST(Quantize, UnsignedIsSignedPlus128AndTheVectorRuleMatches) {
  for (float x : {0.f, 2.5f, -2.5f, 3.5f, -126.6f, 126.4f, -300.f, 1000.f, -1e30f, 1e30f})
    EXPECT_EQ(static_cast<int>(kernels::quantize_u8(x, 1.f)), kernels::quantize_s8(x, 1.f) + 128) << x;
  EXPECT_EQ(kernels::quantize_u8(-1000.f, 1.f), 1);
  if (kernels::detected_isa() < Isa::avx512) GTEST_SKIP() << "needs the avx512 tier";
  Tensor x = random_f32({1000}, 77);
  for (int64_t i = 0; i < x.numel(); i += 37) x.data_as<float>()[i] *= 1000;  // some saturate
  x.data_as<float>()[500] = -2000;  // the absmax, negative
  const Tensor xb = narrow(x, DType::bf16), xw = widen(xb);
  const float* f = x.data_as<float>();
  const float* fw = xw.data_as<float>();
  const uint16_t* b = xb.data_as<uint16_t>();
  for (int64_t begin : {int64_t{0}, int64_t{3}})
    for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{63}, int64_t{64}, int64_t{65},
                      int64_t{130}, int64_t{997}}) {
      const int64_t end = begin + n;
      SCOPED_TRACE(testing::Message() << "elements [" << begin << ", " << end << ")");
      std::vector<uint8_t> vec(end), vec_b(end), ref(end), ref_b(end);
      kernels::x86::quantize_u8_avx512(f, vec.data(), 1.f / 0.01f, begin, end);
      kernels::x86::quantize_u8_bf16_avx512(b, vec_b.data(), 1.f / 0.01f, begin, end);
      float m = 0, m_b = 0;
      for (int64_t i = begin; i < end; ++i) {
        ref[i] = kernels::quantize_u8(f[i], 1.f / 0.01f);
        ref_b[i] = kernels::quantize_u8(fw[i], 1.f / 0.01f);
        m = std::max(m, std::fabs(f[i]));
        m_b = std::max(m_b, std::fabs(fw[i]));
      }
      EXPECT_EQ(vec, ref);
      EXPECT_EQ(vec_b, ref_b);
      EXPECT_EQ(kernels::x86::absmax_avx512(f, begin, end), m);
      EXPECT_EQ(kernels::x86::absmax_bf16_avx512(b, begin, end), m_b);
    }
}

// Widened kernels: the fp32 kernel on the widened inputs, narrowed once.
TEST(WidenedKernels, MatchTheFp32KernelWithinOneRounding) {
  for (DType t : {DType::bf16, DType::f16}) {
    const Tolerance store = t == DType::bf16 ? kTolBf16Store : kTolF16Store;
    Tensor x = narrow(random_f32({3, 37, 60}, 11), t), skip = narrow(random_f32({3, 37, 60}, 12), t);
    Tensor gamma = random_f32({60}, 13), beta = random_f32({60}, 14);
    SCOPED_TRACE(dtype_name(t));
    struct Case {
      const char* op;
      std::vector<Tensor> low, fp32;
      Attr attrs;
    } cases[] = {
        {"LayerNormalization", {x, gamma, beta}, {widen(x), gamma, beta}, Attr().f("epsilon", 1e-12)},
        {"SkipLayerNormalization", {x, skip, gamma, beta}, {widen(x), widen(skip), gamma, beta}, Attr()},
        {"Softmax", {x}, {widen(x)}, Attr().i("axis", -1)},
        {"Gelu", {x}, {widen(x)}, Attr()},
        {"Add", {x, skip}, {widen(x), widen(skip)}, Attr()},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(c.op);
      Tensor low = run_kernel(c.op, t, Isa::ref, c.low, {{t, x.dims()}}, c.attrs)[0];
      Tensor fp32 = run_kernel(c.op, DType::f32, Isa::ref, c.fp32, {{DType::f32, x.dims()}}, c.attrs)[0];
      EXPECT_EQ(low.dtype(), t);
      EXPECT_CLOSE(low, fp32, Tolerance{kTolFastNorm.abs + store.abs, kTolFastNorm.rel + store.rel});
    }
  }
}

}  // namespace
}  // namespace kiln::test
