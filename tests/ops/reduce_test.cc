// Reductions and ArgMax/ArgMin: keepdims, negative axes, axes input vs attribute, noop_with_empty_axes.
#include "test_util.h"

namespace kiln::test {
namespace {

// numpy: x = (((np.arange(24)*7) % 11) - 5).reshape(2,3,4)
Tensor x_f32() {
  return tensor<float>({2, 3, 4}, {-5, 2, -2, 5, 1, -3, 4, 0, -4, 3, -1, -5, 2, -2, 5, 1, -3, 4, 0, -4, 3, -1, -5, 2});
}
Tensor axes(std::initializer_list<int64_t> v) { return tensor<int64_t>({static_cast<int64_t>(v.size())}, v); }

TEST(Reduce, SumKeepdims) {
  // numpy: x.sum(1) = [-8, 2, 1, 0, 2, 1, 0, -1]
  const std::vector<double> sum1 = {-8, 2, 1, 0, 2, 1, 0, -1};
  EXPECT_TENSOR(eval1("ReduceSum", {x_f32(), axes({1})}), DType::f32, {2, 1, 4}, sum1, kTolF32);
  EXPECT_TENSOR(eval1("ReduceSum", {x_f32(), axes({1})}, Attr().i("keepdims", 0)), DType::f32, {2, 4}, sum1, kTolF32);
}

TEST(Reduce, NegativeAxes) {
  // numpy: x.mean(-1) = [0, 0.5, -1.75, 1.5, -0.75, -0.25]
  EXPECT_TENSOR(eval1("ReduceMean", {x_f32(), axes({-1})}), DType::f32, {2, 3, 1}, {0, 0.5, -1.75, 1.5, -0.75, -0.25},
                kTolF32);
  // numpy: x.mean((1,2)) = [-0.41666666666666667, 0.16666666666666666]
  EXPECT_TENSOR(eval1("ReduceMean", {x_f32(), axes({-2, -1})}, Attr().i("keepdims", 0)), DType::f32, {2},
                {-0.4166666666666667, 0.16666666666666666}, kTolF32);
}

TEST(Reduce, AxesFromAttributeMatchAxesFromInput) {
  // Opset 13 ReduceMax takes `axes` as an attribute, opset 18 as input #1: same result.
  // numpy: x.max((0,2)) = [5, 4, 3]
  Tensor from_input = eval1("ReduceMax", {x_f32(), axes({0, 2})}, Attr().i("keepdims", 0));
  Tensor from_attr = eval1("ReduceMax", {x_f32()}, Attr().ints("axes", {0, 2}).i("keepdims", 0));
  EXPECT_TENSOR(from_input, DType::f32, {3}, {5, 4, 3}, kTolF32);
  EXPECT_TENSOR(from_attr, DType::f32, {3}, {5, 4, 3}, kTolF32);
  EXPECT_TENSOR(eval1("ReduceSum", {x_f32()}, Attr().ints("axes", {1})), DType::f32, {2, 1, 4},
                {-8, 2, 1, 0, 2, 1, 0, -1}, kTolF32);
}

TEST(Reduce, NoAxesReducesEverything) {
  EXPECT_TENSOR(eval1("ReduceMin", {x_f32()}), DType::f32, {1, 1, 1}, {-5}, kTolF32);
  EXPECT_TENSOR(eval1("ReduceSum", {x_f32()}, Attr().i("keepdims", 0)), DType::f32, {}, {-3}, kTolF32);
  // An empty axes tensor means "no axes" too.
  EXPECT_TENSOR(eval1("ReduceSum", {x_f32(), tensor<int64_t>({0}, {})}, Attr().i("keepdims", 0)), DType::f32, {}, {-3},
                kTolF32);
}

TEST(Reduce, NoopWithEmptyAxes) {
  Tensor x = x_f32();
  Tensor out = eval1("ReduceSum", {x, tensor<int64_t>({0}, {})}, Attr().i("noop_with_empty_axes", 1));
  EXPECT_CLOSE(out, x, kTolExact);
  out = eval1("ReduceMax", {x}, Attr().i("noop_with_empty_axes", 1).i("keepdims", 0));
  EXPECT_CLOSE(out, x, kTolExact);
}

TEST(Reduce, L2AndProd) {
  // numpy: np.sqrt((x**2).sum(2))
  EXPECT_TENSOR(eval1("ReduceL2", {x_f32(), axes({2})}, Attr().i("keepdims", 0)), DType::f32, {2, 3},
                {7.615773105863909, 5.0990195135927845, 7.14142842854285, 5.830951894845301, 6.4031242374328485,
                 6.244997998398398},
                kTolF32);
  Tensor p = tensor<float>({2, 3}, {1.5f, -2, 3, 0.5f, 4, -1});
  // numpy: p.prod(0) = [0.75, -8, -3]; p.prod(1) = [-9, -2]
  EXPECT_TENSOR(eval1("ReduceProd", {p, axes({0})}, Attr().i("keepdims", 0)), DType::f32, {3}, {0.75, -8, -3}, kTolF32);
  EXPECT_TENSOR(eval1("ReduceProd", {p, axes({1})}), DType::f32, {2, 1}, {-9, -2}, kTolF32);
}

TEST(Reduce, L1SumSquareLogSumLogSumExp) {
  // numpy: np.abs(x).sum(2), (x**2).sum(2)
  EXPECT_TENSOR(eval1("ReduceL1", {x_f32(), axes({2})}, Attr().i("keepdims", 0)), DType::f32, {2, 3},
                {14, 8, 13, 10, 11, 11}, kTolF32);
  EXPECT_TENSOR(eval1("ReduceSumSquare", {x_f32()}, Attr().ints("axes", {-1})), DType::f32, {2, 3, 1},
                {58, 26, 51, 34, 41, 39}, kTolF32);
  EXPECT_TENSOR(eval1("ReduceL1", {tensor<int64_t>({3}, {-4, 2, -7})}, Attr().i("keepdims", 0)), DType::i64, {}, {13},
                kTolExact);
  // numpy: np.log(p.sum(1))
  Tensor p = tensor<float>({2, 3}, {1.5f, 2, 3, 0.5f, 4, 1});
  EXPECT_TENSOR(eval1("ReduceLogSum", {p, axes({1})}, Attr().i("keepdims", 0)), DType::f32, {2},
                {1.8718021769015913, 1.7047480922384253}, kTolF32);
  // Stable for large inputs (a naive sum of exp overflows double): numpy m + np.log(np.exp(a - m).sum(1))
  Tensor a = tensor<double>({2, 3}, {1000, 1000, 999, -1, 0, 2});
  EXPECT_TENSOR(eval1("ReduceLogSumExp", {a, axes({1})}, Attr().i("keepdims", 0)), DType::f64, {2},
                {1000.8619948040582, 2.1698460195562856}, kTolF64);
  EXPECT_TENSOR(eval1("ReduceLogSumExp", {a}, Attr().ints("axes", {0})), DType::f64, {1, 3}, {1000, 1000, 999}, kTolF64);
}

TEST(Reduce, Integers) {
  Tensor m = tensor<int64_t>({2, 3}, {1, 2, 4, -7, 5, 6});
  EXPECT_TENSOR(eval1("ReduceSum", {m, axes({1})}, Attr().i("keepdims", 0)), DType::i64, {2}, {7, 4}, kTolExact);
  EXPECT_TENSOR(eval1("ReduceMax", {m, axes({0})}, Attr().i("keepdims", 0)), DType::i64, {3}, {1, 5, 6}, kTolExact);
  EXPECT_TENSOR(eval1("ReduceMin", {m}, Attr().i("keepdims", 0)), DType::i64, {}, {-7}, kTolExact);
  EXPECT_TENSOR(eval1("ReduceProd", {m, axes({1})}, Attr().i("keepdims", 0)), DType::i64, {2}, {8, -210}, kTolExact);
  // Integer mean truncates: (1+2+4)/3 = 2.33 -> 2, (-7+5+6)/3 = 1.33 -> 1
  EXPECT_TENSOR(eval1("ReduceMean", {m, axes({1})}, Attr().i("keepdims", 0)), DType::i64, {2}, {2, 1}, kTolExact);
  Tensor v = tensor<int32_t>({4}, {3, -1, 10, 2});
  EXPECT_TENSOR(eval1("ReduceSum", {v}), DType::i32, {1}, {14}, kTolExact);
  EXPECT_TENSOR(eval1("ReduceMax", {v}), DType::i32, {1}, {10}, kTolExact);
}

TEST(Reduce, BadAxisThrows) {
  EXPECT_KILN_ERROR(infer_output("ReduceSum", {value_of(DType::f32, {2, 3}), const_of(axes({2}))}),
                    {"reduction axis 2 is out of range for rank 2", "ReduceSum"});
  EXPECT_KILN_ERROR(infer_output("ReduceMean", {value_of(DType::f32, {2, 3})}, Attr().ints("axes", {-3})),
                    {"reduction axis -3"});
}

TEST(ArgMax, AxesAndKeepdims) {
  // numpy: x.argmax(1) = [1,2,1,0, 2,1,0,2]; x.argmax(0)
  EXPECT_TENSOR(eval1("ArgMax", {x_f32()}, Attr().i("axis", 1)), DType::i64, {2, 1, 4}, {1, 2, 1, 0, 2, 1, 0, 2},
                kTolExact);
  EXPECT_TENSOR(eval1("ArgMax", {x_f32()}, Attr().i("axis", 1).i("keepdims", 0)), DType::i64, {2, 4},
                {1, 2, 1, 0, 2, 1, 0, 2}, kTolExact);
  EXPECT_TENSOR(eval1("ArgMax", {x_f32()}, Attr().i("keepdims", 0)), DType::i64, {3, 4},
                {1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1}, kTolExact);
}

TEST(ArgMin, NegativeAxis) {
  // numpy: x.argmin(-1) = [0,1,3, 1,3,2]
  EXPECT_TENSOR(eval1("ArgMin", {x_f32()}, Attr().i("axis", -1).i("keepdims", 0)), DType::i64, {2, 3},
                {0, 1, 3, 1, 3, 2}, kTolExact);
}

TEST(ArgMax, TiesAndSelectLastIndex) {
  Tensor v = tensor<float>({4}, {1, 3, 3, 0});
  EXPECT_TENSOR(eval1("ArgMax", {v}, Attr().i("keepdims", 0)), DType::i64, {}, {1}, kTolExact);
  EXPECT_TENSOR(eval1("ArgMax", {v}, Attr().i("keepdims", 0).i("select_last_index", 1)), DType::i64, {}, {2}, kTolExact);
  Tensor w = tensor<int64_t>({4}, {2, 0, 0, 5});
  EXPECT_TENSOR(eval1("ArgMin", {w}), DType::i64, {1}, {1}, kTolExact);
  EXPECT_TENSOR(eval1("ArgMin", {w}, Attr().i("select_last_index", 1)), DType::i64, {1}, {2}, kTolExact);
  EXPECT_TENSOR(eval1("ArgMax", {w}), DType::i64, {1}, {3}, kTolExact);
}

}  // namespace
}  // namespace kiln::test
