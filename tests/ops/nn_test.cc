// Softmax, LogSoftmax, LayerNormalization, SkipLayerNormalization: ref kernels vs NumPy, axes, coerce_2d,
// masks, stat outputs. (The AVX2 / AVX-512 kernels of these ops: x86_kernels_test.cc.)
#include <cmath>

#include "test_util.h"

namespace kiln::test {
namespace {

::testing::AssertionResult all_finite(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.data_as<float>()[i]))
      return ::testing::AssertionFailure() << "element " << i << " is " << t.data_as<float>()[i];
  return ::testing::AssertionSuccess();
}

TEST(Softmax, LastAxis) {
  Tensor x = tensor<float>({2, 3}, {1, 2, 3, -1, 0, 5});
  // numpy: e = np.exp(x - x.max(-1, keepdims=True)); e / e.sum(-1, keepdims=True)
  const std::vector<double> expected = {0.09003057317038043,   0.24472847105479767,  0.6652409557748218,
                                        0.0024561149044509535, 0.006676412513376451, 0.9908674725821726};
  EXPECT_TENSOR(eval1("Softmax", {x}), DType::f32, {2, 3}, expected, kTolF32);
  EXPECT_TENSOR(eval1("Softmax", {x}, Attr().i("axis", 1)), DType::f32, {2, 3}, expected, kTolF32);
}

TEST(Softmax, MiddleAxis) {
  Tensor y = tensor<float>({2, 3, 2}, {0.5f, -1, 2, 0, 1, 3, -2, 1.5f, 0.25f, -0.5f, 4, 1});
  // numpy: softmax(y, axis=1)
  EXPECT_TENSOR(eval1("Softmax", {y}, Attr().i("axis", 1)), DType::f32, {2, 3, 2},
                {0.14024438316608848, 0.01714782554552039, 0.6285317192117624, 0.04661262257797389, 0.2312238976221491,
                 0.9362395518765058, 0.002415946040185623, 0.5740969929676946, 0.022921857824177612,
                 0.07769557914857059, 0.9746621961356368, 0.3482074278837349},
                kTolF32);
}

TEST(Softmax, Coerce2dFlattensFromAxis) {
  Tensor z = tensor<float>({2, 2, 2}, {1, 2, 3, 4, -1, 0, 1, 0.5f});
  // Opset < 13 (frontend sets coerce_2d=1): numpy softmax(z.reshape(2, 4), axis=1)
  EXPECT_TENSOR(eval1("Softmax", {z}, Attr().i("axis", 1).i("coerce_2d", 1)), DType::f32, {2, 2, 2},
                {0.03205860328008498, 0.08714431874203256, 0.23688281808991016, 0.6439142598879724,
                 0.06414768542935738, 0.17437148764032928, 0.47399084625407806, 0.2874899806762354},
                kTolF32);
  // Without coerce_2d the same axis means a single axis: numpy softmax(z, axis=1)
  EXPECT_TENSOR(eval1("Softmax", {z}, Attr().i("axis", 1)), DType::f32, {2, 2, 2},
                {0.11920292202211755, 0.11920292202211755, 0.8807970779778825, 0.8807970779778825,
                 0.11920292202211755, 0.37754066879814546, 0.8807970779778825, 0.6224593312018546},
                kTolF32);
}

TEST(Softmax, LargeNegativeMasksStayFinite) {
  // -3.4e38 is the additive attention mask exporters use (~ -FLT_MAX); a fully masked row is uniform.
  Tensor m = tensor<float>({3, 3}, {0, -3.4e38f, 1, -3.4e38f, -3.4e38f, 2, -3.4e38f, -3.4e38f, -3.4e38f});
  Tensor out = eval1("Softmax", {m});
  EXPECT_TRUE(all_finite(out));
  EXPECT_TENSOR(out, DType::f32, {3, 3},
                {0.26894142136999516, 0, 0.7310585786300049, 0, 0, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3}, kTolF32);
  Tensor log_out = eval1("LogSoftmax", {m});
  EXPECT_TRUE(all_finite(log_out));
  EXPECT_NEAR(log_out.data_as<float>()[2], std::log(0.7310585786300049), 1e-5);
  EXPECT_NEAR(log_out.data_as<float>()[5], 0.0, 1e-6);
}

TEST(LogSoftmax, LastAxis) {
  Tensor x = tensor<float>({2, 3}, {1, 2, 3, -1, 0, 5});
  // numpy: np.log(softmax(x, -1))
  EXPECT_TENSOR(eval1("LogSoftmax", {x}), DType::f32, {2, 3},
                {-2.4076059644443806, -1.4076059644443801, -0.40760596444438046, -6.0091744845917345,
                 -5.0091744845917345, -0.009174484591734738},
                kTolF32);
}

TEST(Softmax, RejectsNonFloatAndBadAxis) {
  EXPECT_KILN_ERROR(infer_output("Softmax", {value_of(DType::i64, {2})}), {"expects f32", "i64"});
  EXPECT_KILN_ERROR(infer_output("LogSoftmax", {value_of(DType::f32, {2, 3})}, Attr().i("axis", 2)),
                    {"axis 2 is out of range for rank 2"});
}

// numpy for the LayerNorm cases: mu = a.mean(-1), var = a.var(-1), inv = 1/np.sqrt(var + eps),
// y = (a - mu) * inv * scale + bias
TEST(LayerNormalization, LastAxisWithAndWithoutBias) {
  Tensor a = tensor<float>({2, 4}, {1, 2, 3, 4, -1, 0.5f, 0, 2.5f});
  Tensor scale = tensor<float>({4}, {1, 0.5f, -2, 1.5f});
  Tensor bias = tensor<float>({4}, {0.1f, 0, -0.3f, 1});
  EXPECT_TENSOR(eval1("LayerNormalization", {a, scale, bias}), DType::f32, {2, 4},
                {-1.2416354199689268, -0.2236059033281545, -1.194423613312618, 3.01245312995339, -1.0766931902402426,
                 0.0, 0.4844621268268285, 3.3533863804804853},
                kTolF32);
  EXPECT_TENSOR(eval1("LayerNormalization", {a, scale}, Attr().i("axis", -1)), DType::f32, {2, 4},
                {-1.3416354199689269, -0.2236059033281545, -0.894423613312618, 2.01245312995339, -1.1766931902402427,
                 0.0, 0.7844621268268285, 2.3533863804804853},
                kTolF32);
}

TEST(LayerNormalization, MeanAndInvStdDevOutputs) {
  Tensor a = tensor<float>({2, 4}, {1, 2, 3, 4, -1, 0.5f, 0, 2.5f});
  Tensor scale = tensor<float>({4}, {1, 1, 1, 1});
  std::vector<Tensor> out = eval_op("LayerNormalization", {a, scale}, Attr(), 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TENSOR(out[1], DType::f32, {2, 1}, {2.5, 0.5}, kTolF32);
  EXPECT_TENSOR(out[2], DType::f32, {2, 1}, {0.894423613312618, 0.7844621268268285}, kTolF32);
}

TEST(LayerNormalization, TwoAxisNormalisation) {
  // c = np.arange(12).reshape(2,2,3) ** 1.5 (float32), normalised over axes (1, 2), epsilon 1e-3
  Tensor c = tensor<float>({2, 2, 3}, {0.0f, 1.0f, 2.8284271247461903f, 5.196152422706632f, 8.0f, 11.180339887498947f,
                                       14.696938456699067f, 18.520259177452132f, 22.627416997969522f, 27.0f,
                                       31.622776601683796f, 36.48287269390939f});
  Tensor scale = tensor<float>({2, 3}, {1, 2, 3, -1, -2, 0.5f});
  std::vector<Tensor> out =
      eval_op("LayerNormalization", {c, scale, Tensor()}, Attr().i("axis", 1).f("epsilon", 1e-3), 3);
  EXPECT_TENSOR(out[0], DType::f32, {2, 2, 3},
                {-1.1977518103409197, -1.8859108967161091, -1.431236606465805, -0.1262089232731808,
                 -1.6812381710440023, 0.8254790593628637, -1.403530422191779, -1.7811700439243068,
                 -1.0186781733704395, -0.24707628551209326, -1.7345570085864064, 0.7596600227360577},
                kTolF32);
  EXPECT_TENSOR(out[1], DType::f32, {2, 1, 1}, {4.700819905825295, 25.158377321285652}, kTolF32);
  EXPECT_TENSOR(out[2], DType::f32, {2, 1, 1}, {0.2547963619828651, 0.13416227350359264}, kTolF32);
}

TEST(LayerNormalization, WrongScaleSizeThrows) {
  EXPECT_KILN_ERROR(infer_output("LayerNormalization", {value_of(DType::f32, {2, 4}), value_of(DType::f32, {3})}),
                    {"scale has 3 elements, expected 4"});
  EXPECT_KILN_ERROR(infer_output("LayerNormalization", {value_of(DType::f32, {2, 4}), value_of(DType::f32, {4}),
                                                        value_of(DType::f32, {8})}),
                    {"bias has 8 elements, expected 4"});
}

// numpy: s = (x + skip + bias).astype(np.float32); mu = s.mean(-1); var = s.var(-1) (float64);
// y = (s - mu) / np.sqrt(var + eps) * gamma + beta
TEST(SkipLayerNormalization, AllInputsAndSumOutput) {
  Tensor x = tensor<float>({2, 4}, {1, 2, 3, 4, -1, 0.5f, 0, 2.5f});
  Tensor skip = tensor<float>({2, 4}, {0.5f, -1, 2, 0, 1, 1, -0.5f, 0.25f});
  Tensor gamma = tensor<float>({4}, {1, 0.5f, -2, 1.5f});
  Tensor beta = tensor<float>({4}, {0.1f, 0, -0.3f, 1});
  Tensor bias = tensor<float>({4}, {0.25f, -0.5f, 0, 1});
  std::vector<Tensor> out = eval_op("SkipLayerNormalization", {x, skip, gamma, beta, bias}, Attr(), 2);
  ASSERT_EQ(out.size(), 2u);
  // Default epsilon is BERT's 1e-12.
  EXPECT_TENSOR(out[0], DType::f32, {2, 4},
                {-0.5604557354183611, -0.6447306003154183, -2.2499169494602427, 2.4624377031544853,
                 -0.44494925942284425, -0.0389249472080686, 1.724097242898638, 3.4522716741083217},
                kTolF32);
  EXPECT_TENSOR(out[1], DType::f32, {2, 4}, {1.75, 0.5, 5, 5, 0.25, 1, -0.5, 3.75}, kTolExact);
}

TEST(SkipLayerNormalization, OmittedBetaAndBiasAndEpsilon) {
  Tensor x = tensor<float>({1, 2, 4}, {1, 2, 3, 4, -1, 0.5f, 0, 2.5f});
  Tensor skip = tensor<float>({1, 2, 4}, {0.5f, -1, 2, 0, 1, 1, -0.5f, 0.25f});
  Tensor gamma = tensor<float>({4}, {1, 0.5f, -2, 1.5f});
  const std::vector<double> expected = {-0.8078631902719249, -0.5508158115490397, -2.4970316790223133,
                                        0.9914684607882714,  -0.7113879915305903, 0.2134163974591771,
                                        2.1815898406938103,  2.0630251754387117};
  // beta omitted as -1, bias absent; then beta and bias both omitted as -1.
  EXPECT_TENSOR(eval1("SkipLayerNormalization", {x, skip, gamma}, Attr().f("epsilon", 0.1)), DType::f32, {1, 2, 4},
                expected, kTolF32);
  EXPECT_TENSOR(eval1("SkipLayerNormalization", {x, skip, gamma, Tensor()}, Attr().f("epsilon", 0.1)), DType::f32,
                {1, 2, 4}, expected, kTolF32);
  EXPECT_TENSOR(eval1("SkipLayerNormalization", {x, skip, gamma, Tensor(), Tensor()}, Attr().f("epsilon", 0.1)),
                DType::f32, {1, 2, 4}, expected, kTolF32);
}

// The fusion contract: SkipLayerNormalization(x, skip, gamma, beta) is bit-identical to
// LayerNormalization(Add(x, skip), gamma, beta) over the last axis with the same epsilon, and its sum
// output is Add(x, skip) exactly.
TEST(SkipLayerNormalization, MatchesAddThenLayerNormalizationExactly) {
  Tensor x = random_f32({3, 5, 37}, 11);
  Tensor skip = random_f32({3, 5, 37}, 12);
  Tensor gamma = random_f32({37}, 13);
  Tensor beta = random_f32({37}, 14);
  const Attr eps = Attr().f("epsilon", 1e-12);
  Tensor added = eval1("Add", {x, skip});
  Tensor unfused = eval1("LayerNormalization", {added, gamma, beta}, eps);
  std::vector<Tensor> fused = eval_op("SkipLayerNormalization", {x, skip, gamma, beta}, eps, 2);
  EXPECT_CLOSE(fused[0], unfused, kTolExact);
  EXPECT_CLOSE(fused[1], added, kTolExact);
}

TEST(SkipLayerNormalization, ShapeRuleAndErrors) {
  ir::Value y = infer_output("SkipLayerNormalization",
                             {value_of(DType::f32, {2, 3, 8}), value_of(DType::f32, {2, 3, 8}), value_of(DType::f32, {8})},
                             Attr(), 1, 2);
  EXPECT_EQ(ir::static_dims(y.shape), (Dims{2, 3, 8}));
  EXPECT_EQ(y.dtype, DType::f32);
  EXPECT_KILN_ERROR(infer_output("SkipLayerNormalization", {value_of(DType::f32, {2, 8}), value_of(DType::f32, {1, 8}),
                                                            value_of(DType::f32, {8})}),
                    {"skip has shape [1,8], expected x's shape [2,8]"});
  EXPECT_KILN_ERROR(infer_output("SkipLayerNormalization", {value_of(DType::f32, {2, 8}), value_of(DType::f32, {2, 8}),
                                                            value_of(DType::f32, {4})}),
                    {"gamma has shape [4], expected [8]"});
  EXPECT_KILN_ERROR(infer_output("SkipLayerNormalization",
                                 {value_of(DType::f32, {2, 8}), value_of(DType::f32, {2, 8}), value_of(DType::f32, {8}),
                                  value_of(DType::f32, {8}), value_of(DType::f32, {2, 8})}),
                    {"bias has shape [2,8], expected [8]"});
  EXPECT_KILN_ERROR(infer_output("SkipLayerNormalization", {value_of(DType::f32, {2, 8}), value_of(DType::i64, {2, 8}),
                                                            value_of(DType::f32, {8})}),
                    {"skip expects f32, got i64"});
  EXPECT_KILN_ERROR(infer_output("SkipLayerNormalization", {value_of(DType::f32, {2, 8}), value_of(DType::f32, {2, 8})}),
                    {"has 2 inputs"});
}

}  // namespace
}  // namespace kiln::test
