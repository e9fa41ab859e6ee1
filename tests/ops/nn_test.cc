// Softmax, LogSoftmax, LayerNormalization: ref kernels vs NumPy, axes, coerce_2d, masks, stat outputs.
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

}  // namespace
}  // namespace kiln::test
