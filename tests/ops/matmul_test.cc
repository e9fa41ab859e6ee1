// MatMul/Gemm: ref kernels vs NumPy values, and the oneDNN kernels vs ref at odd sizes and broadcasts.
#include <cmath>

#include "kernels/isa.h"
#include "ops/matmul_rules.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// ---- MatMul reference ------------------------------------------------------------------------------

TEST(MatMul, TwoD) {
  Tensor a = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = tensor<float>({3, 2}, {1, -1, 0, 2, 3, 0.5f});
  EXPECT_TENSOR(eval1("MatMul", {a, b}), DType::f32, {2, 2}, {10, 4.5, 22, 9}, kTolF32);
}

TEST(MatMul, OneDOperands) {
  Tensor a = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = tensor<float>({3, 2}, {1, -1, 0, 2, 3, 0.5f});
  Tensor v = tensor<float>({3}, {1, -2, 0.5f});
  // numpy: v @ b, a @ v, v @ [2,1,4]
  EXPECT_TENSOR(eval1("MatMul", {v, b}), DType::f32, {2}, {2.5, -4.75}, kTolF32);
  EXPECT_TENSOR(eval1("MatMul", {a, v}), DType::f32, {2}, {-1.5, -3}, kTolF32);
  EXPECT_TENSOR(eval1("MatMul", {v, tensor<float>({3}, {2, 1, 4})}), DType::f32, {}, {2}, kTolF32);
  // 1-D against a batch: numpy [1,2,-1] @ np.arange(24).reshape(2,3,4); np.arange(24).reshape(2,3,4) @ [1,-1,2,.5]
  Tensor t(DType::f32, {2, 3, 4});
  for (int i = 0; i < 24; ++i) t.data_as<float>()[i] = static_cast<float>(i);
  EXPECT_TENSOR(eval1("MatMul", {tensor<float>({3}, {1, 2, -1}), t}), DType::f32, {2, 4}, {0, 2, 4, 6, 24, 26, 28, 30},
                kTolF32);
  EXPECT_TENSOR(eval1("MatMul", {t, tensor<float>({4}, {1, -1, 2, 0.5f})}), DType::f32, {2, 3},
                {4.5, 14.5, 24.5, 34.5, 44.5, 54.5}, kTolF32);
}

TEST(MatMul, BatchBroadcast) {
  // numpy: A = np.arange(24).reshape(2,1,3,4) % 5 - 2; B = np.arange(40).reshape(5,4,2) % 7 - 3; A @ B
  Tensor a(DType::f32, {2, 1, 3, 4});
  for (int i = 0; i < 24; ++i) a.data_as<float>()[i] = static_cast<float>(i % 5 - 2);
  Tensor b(DType::f32, {5, 4, 2});
  for (int i = 0; i < 40; ++i) b.data_as<float>()[i] = static_cast<float>(i % 7 - 3);
  EXPECT_TENSOR(eval1("MatMul", {a, b}), DType::f32, {2, 5, 3, 2},
                {10, 1,  -5, -6, -10, -3, 1,  -1, -6, -7, -3, -3, -1, -3, -7, -1, -3, 11, -3, -5,
                 -1, -2, 11, 11, -5,  0,  -2, 11, 11, -3, -5, 10, 10, -2, 10, 1,  10, 11, -2, 0,
                 1,  -1, 11, -2, 0,   -5, -1, -3, -2, -1, -5, -3, -3, -5, -1, -7, -3, -1, -5, 0},
                kTolF32);
}

TEST(MatMul, ShapeRuleErrors) {
  EXPECT_KILN_ERROR(infer_output("MatMul", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {4, 2})}),
                    {"inner dims differ", "[2,3]", "[4,2]"});
  EXPECT_KILN_ERROR(infer_output("MatMul", {value_of(DType::f32, {}), value_of(DType::f32, {3})}), {"rank >= 1"});
  EXPECT_KILN_ERROR(infer_output("MatMul", {value_of(DType::f32, {2, 2, 3}), value_of(DType::f32, {3, 3, 1})}),
                    {"cannot be broadcast"});
}

TEST(MatMul, ShapeOfBatchBroadcast) {
  ops::MatMulShape s = ops::matmul_shape({2, 1, 3, 4}, {5, 4, 2});
  EXPECT_EQ(s.m, 3);
  EXPECT_EQ(s.k, 4);
  EXPECT_EQ(s.n, 2);
  EXPECT_EQ(s.batch, (Dims{2, 5}));
  EXPECT_EQ(s.out, (Dims{2, 5, 3, 2}));
}

// ---- Gemm reference ---------------------------------------------------------------------------------------

// numpy: GA = [[1,2,3],[4,5,6]]; GB = [[1,0,-1,2],[.5,1,0,-2],[1,1,1,1]]; GA @ GB = [5,5,2,1, 12.5,11,2,4]
Tensor ga() { return tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}); }
Tensor gb() { return tensor<float>({3, 4}, {1, 0, -1, 2, 0.5f, 1, 0, -2, 1, 1, 1, 1}); }
const std::vector<double> kGaGb = {5, 5, 2, 1, 12.5, 11, 2, 4};

TEST(Gemm, PlainAndTransposes) {
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb()}), DType::f32, {2, 4}, kGaGb, kTolF32);
  Tensor ga_t = tensor<float>({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor gb_t = tensor<float>({4, 3}, {1, 0.5f, 1, 0, 1, 1, -1, 0, 1, 2, -2, 1});
  EXPECT_TENSOR(eval1("Gemm", {ga_t, gb()}, Attr().i("transA", 1)), DType::f32, {2, 4}, kGaGb, kTolF32);
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb_t}, Attr().i("transB", 1)), DType::f32, {2, 4}, kGaGb, kTolF32);
  EXPECT_TENSOR(eval1("Gemm", {ga_t, gb_t}, Attr().i("transA", 1).i("transB", 1)), DType::f32, {2, 4}, kGaGb, kTolF32);
}

TEST(Gemm, AlphaBetaAndCShapes) {
  // numpy: 0.5 * GA @ GB + 2 * [1,2,3,4]
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb(), tensor<float>({4}, {1, 2, 3, 4})}, Attr().f("alpha", 0.5).f("beta", 2)),
                DType::f32, {2, 4}, {4.5, 6.5, 7, 8.5, 8.25, 9.5, 7, 10}, kTolF32);
  // numpy: GA @ GB + [[10],[20]]  (C is [m, 1])
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb(), tensor<float>({2, 1}, {10, 20})}), DType::f32, {2, 4},
                {15, 15, 12, 11, 32.5, 31, 22, 24}, kTolF32);
  // numpy: 2 * GA @ GB - 1 * 3  (scalar C, beta = -1)
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb(), scalar<float>(3)}, Attr().f("alpha", 2).f("beta", -1)), DType::f32, {2, 4},
                {7, 7, 1, -1, 22, 19, 1, 5}, kTolF32);
  // Full [m, n] C and [1, n] C
  Tensor c_full = tensor<float>({2, 4}, {1, 1, 1, 1, -1, -1, -1, -1});
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb(), c_full}), DType::f32, {2, 4}, {6, 6, 3, 2, 11.5, 10, 1, 3}, kTolF32);
  EXPECT_TENSOR(eval1("Gemm", {ga(), gb(), tensor<float>({1, 4}, {1, 2, 3, 4})}, Attr().f("beta", 0)), DType::f32,
                {2, 4}, kGaGb, kTolF32);
}

TEST(Gemm, ShapeRuleErrors) {
  EXPECT_KILN_ERROR(infer_output("Gemm", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {2, 4})}),
                    {"inner dims differ"});
  EXPECT_KILN_ERROR(infer_output("Gemm", {value_of(DType::f32, {2, 3, 1}), value_of(DType::f32, {3, 4})}),
                    {"must be 2-D"});
  EXPECT_KILN_ERROR(infer_output("Gemm", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {3, 4}),
                                          value_of(DType::f32, {3})}),
                    {"does not broadcast to [2,4]"});
  // A C of higher rank than the output is refused rather than read wrongly.
  EXPECT_KILN_ERROR(infer_output("Gemm", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {3, 4}),
                                          value_of(DType::f32, {1, 2, 4})}),
                    {"does not broadcast"});
  EXPECT_EQ(ir::static_dims(infer_output("Gemm", {value_of(DType::f32, {3, 2}), value_of(DType::f32, {5, 3})},
                                         Attr().i("transA", 1).i("transB", 1))
                                .shape),
            (Dims{2, 5}));
}

// ---- fast (oneDNN) vs reference --------------------------------------------------------------------------

class FastGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kernels::detected_isa() < kernels::Isa::avx2) GTEST_SKIP() << "CPU has no AVX2: oneDNN tier not usable";
  }
};

void compare_matmul(const Dims& a_dims, const Dims& b_dims, uint64_t seed) {
  SCOPED_TRACE(dims_to_string(a_dims) + " x " + dims_to_string(b_dims));
  Tensor a = random_f32(a_dims, seed), b = random_f32(b_dims, seed + 1000);
  const ops::MatMulShape s = ops::matmul_shape(a_dims, b_dims);
  const std::vector<OutSpec> out = {{DType::f32, s.out}};
  Tensor ref = run_kernel("MatMul", DType::f32, kernels::Isa::ref, {a, b}, out).at(0);
  Tensor fast = run_kernel("MatMul", DType::f32, kernels::Isa::avx2, {a, b}, out).at(0);
  EXPECT_CLOSE(fast, ref, gemm_tolerance(s.k));
}

TEST_F(FastGemm, MatMulOddSizes) {
  const int64_t sizes[][3] = {{1, 1, 1},    {1, 17, 3},   {3, 15, 16},  {15, 16, 17}, {16, 33, 1},
                              {17, 64, 129}, {33, 129, 15}, {64, 3, 64}, {129, 17, 33}, {1, 129, 64},
                              {16, 16, 16}, {129, 129, 3}};
  uint64_t seed = 1;
  for (const auto& mkn : sizes) compare_matmul({mkn[0], mkn[1]}, {mkn[1], mkn[2]}, seed++);
}

TEST_F(FastGemm, MatMulBatchBroadcast) {
  compare_matmul({2, 1, 17, 33}, {3, 33, 15}, 11);  // both operands broadcast
  compare_matmul({4, 17, 16}, {16, 33}, 12);        // shared weight: A's batches fold into rows
  compare_matmul({2, 3, 15, 64}, {64, 129}, 13);
  compare_matmul({17, 16}, {3, 16, 5}, 14);         // shared A, batched B
  compare_matmul({2, 3, 1, 33}, {2, 3, 33, 17}, 15);
  compare_matmul({33}, {3, 33, 16}, 16);            // 1-D A
  compare_matmul({2, 15, 17}, {17}, 17);            // 1-D B
}

TEST_F(FastGemm, MatMulFastKernelIsOneDnn) {
  const kernels::KernelEntry* k = kernels::find_kernel("MatMul", DType::f32, kernels::Isa::avx2);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "matmul_f32_onednn");
}

void compare_gemm(int64_t m, int64_t k, int64_t n, bool ta, bool tb, double alpha, double beta, const Dims* c_dims,
                  uint64_t seed) {
  SCOPED_TRACE(testing::Message() << "m=" << m << " k=" << k << " n=" << n << " transA=" << ta << " transB=" << tb
                                  << " alpha=" << alpha << " beta=" << beta
                                  << " C=" << (c_dims ? dims_to_string(*c_dims) : "none"));
  Tensor a = random_f32(ta ? Dims{k, m} : Dims{m, k}, seed);
  Tensor b = random_f32(tb ? Dims{n, k} : Dims{k, n}, seed + 1000);
  std::vector<Tensor> in = {a, b};
  if (c_dims) in.push_back(random_f32(*c_dims, seed + 2000));
  Attr attrs;
  attrs.i("transA", ta).i("transB", tb).f("alpha", alpha).f("beta", beta);
  const std::vector<OutSpec> out = {{DType::f32, {m, n}}};
  Tensor ref = run_kernel("Gemm", DType::f32, kernels::Isa::ref, in, out, attrs).at(0);
  Tensor fast = run_kernel("Gemm", DType::f32, kernels::Isa::avx2, in, out, attrs).at(0);
  EXPECT_CLOSE(fast, ref, gemm_tolerance(k, std::fabs(alpha) + std::fabs(beta)));
}

TEST_F(FastGemm, GemmTransposesAlphaBetaCShapes) {
  uint64_t seed = 100;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      compare_gemm(17, 33, 15, ta, tb, 1.0, 1.0, nullptr, seed++);
      compare_gemm(1, 16, 129, ta, tb, 0.5, 2.0, nullptr, seed++);
      compare_gemm(129, 64, 17, ta, tb, -1.5, 0.25, nullptr, seed++);
    }
  const Dims c_shapes[] = {{15}, {17, 1}, {17, 15}, {1, 15}, {}, {1}};
  for (const Dims& c : c_shapes) {
    compare_gemm(17, 33, 15, false, true, 0.5, 2.0, &c, seed++);
    compare_gemm(17, 33, 15, true, false, 1.0, -1.0, &c, seed++);
  }
  const Dims c = {3, 64};
  compare_gemm(3, 129, 64, false, false, 1.0, 0.0, &c, seed++);  // beta = 0 ignores C
}

TEST_F(FastGemm, GemmFastKernelIsOneDnn) {
  const kernels::KernelEntry* k = kernels::find_kernel("Gemm", DType::f32, kernels::Isa::avx2);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "gemm_f32_onednn");
}

}  // namespace
}  // namespace kiln::test
