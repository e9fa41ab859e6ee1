// Elementwise ops: shape rules and ref kernels vs hand/NumPy values, broadcasting, int/float edge cases.
#include <cmath>
#include <limits>

#include "test_util.h"

namespace kiln::test {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Tensor iota_f32(const Dims& dims) {
  Tensor t(DType::f32, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(i + 1);
  return t;
}

// ---- broadcasting -------------------------------------------------------------------------------------

TEST(Broadcast, SameShape) {
  Tensor a = iota_f32({2, 3});
  Tensor b = tensor<float>({2, 3}, {10, 20, 30, 40, 50, 60});
  EXPECT_TENSOR(eval1("Add", {a, b}), DType::f32, {2, 3}, {11, 22, 33, 44, 55, 66}, kTolF32);
}

TEST(Broadcast, ScalarOnEitherSide) {
  Tensor a = iota_f32({2, 3});
  EXPECT_TENSOR(eval1("Add", {a, scalar<float>(10)}), DType::f32, {2, 3}, {11, 12, 13, 14, 15, 16}, kTolF32);
  EXPECT_TENSOR(eval1("Sub", {scalar<float>(10), a}), DType::f32, {2, 3}, {9, 8, 7, 6, 5, 4}, kTolF32);
}

TEST(Broadcast, Row) {
  Tensor a = iota_f32({2, 3});
  EXPECT_TENSOR(eval1("Add", {a, tensor<float>({3}, {10, 20, 30})}), DType::f32, {2, 3},
                {11, 22, 33, 14, 25, 36}, kTolF32);
}

TEST(Broadcast, Column) {
  Tensor a = iota_f32({2, 3});
  EXPECT_TENSOR(eval1("Add", {a, tensor<float>({2, 1}, {100, 200})}), DType::f32, {2, 3},
                {101, 102, 103, 204, 205, 206}, kTolF32);
}

TEST(Broadcast, RankMismatch) {
  // numpy: np.arange(1,7).reshape(2,1,3) + np.array([0,10,20,30]).reshape(4,1)
  Tensor a = iota_f32({2, 1, 3});
  Tensor b = tensor<float>({4, 1}, {0, 10, 20, 30});
  EXPECT_TENSOR(eval1("Add", {a, b}), DType::f32, {2, 4, 3},
                {1, 2, 3, 11, 12, 13, 21, 22, 23, 31, 32, 33, 4, 5, 6, 14, 15, 16, 24, 25, 26, 34, 35, 36},
                kTolF32);
}

TEST(Broadcast, BothOperandsExpand) {
  // numpy: np.array([1,2,3.])[:,None] + np.array([10,20,30,40.])[None,:]
  Tensor a = tensor<float>({3, 1}, {1, 2, 3});
  Tensor b = tensor<float>({1, 4}, {10, 20, 30, 40});
  EXPECT_TENSOR(eval1("Add", {a, b}), DType::f32, {3, 4}, {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43},
                kTolF32);
}

TEST(Broadcast, IncompatibleShapesNameBoth) {
  EXPECT_KILN_ERROR(infer_output("Add", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {4})}),
                    {"[2,3]", "[4]", "cannot be broadcast"});
}

TEST(Broadcast, MixedDtypesRejected) {
  EXPECT_KILN_ERROR(infer_output("Mul", {value_of(DType::f32, {2}), value_of(DType::i64, {2})}),
                    {"different dtypes", "f32", "i64"});
}

// ---- arithmetic -----------------------------------------------------------------------------------------

template <typename T>
void check_int_arithmetic(DType dt) {
  Tensor a = tensor<T>({2, 2}, {7, -7, 9, 0});
  Tensor b = tensor<T>({2}, {2, -3});
  EXPECT_TENSOR(eval1("Add", {a, b}), dt, {2, 2}, {9, -10, 11, -3}, kTolExact);
  EXPECT_TENSOR(eval1("Sub", {a, b}), dt, {2, 2}, {5, -4, 7, 3}, kTolExact);
  EXPECT_TENSOR(eval1("Mul", {a, b}), dt, {2, 2}, {14, 21, 18, 0}, kTolExact);
  // Integer division truncates toward zero (C semantics; the ONNX reference also truncates via astype).
  EXPECT_TENSOR(eval1("Div", {a, b}), dt, {2, 2}, {3, 2, 4, 0}, kTolExact);
}

TEST(Arithmetic, Int64) { check_int_arithmetic<int64_t>(DType::i64); }
TEST(Arithmetic, Int32) { check_int_arithmetic<int32_t>(DType::i32); }

TEST(Arithmetic, Float64) {
  Tensor a = tensor<double>({3}, {1.5, -2.25, 1e10});
  Tensor b = tensor<double>({3}, {0.5, 4, 3});
  EXPECT_TENSOR(eval1("Add", {a, b}), DType::f64, {3}, {2.0, 1.75, 1e10 + 3}, kTolF64);
  EXPECT_TENSOR(eval1("Mul", {a, b}), DType::f64, {3}, {0.75, -9.0, 3e10}, kTolF64);
  EXPECT_TENSOR(eval1("Div", {a, b}), DType::f64, {3}, {3.0, -0.5625, 1e10 / 3}, kTolF64);
}

TEST(Arithmetic, IntegerDivTruncatesTowardZero) {
  Tensor a = tensor<int64_t>({4}, {7, -7, 7, -7});
  Tensor b = tensor<int64_t>({4}, {2, 2, -2, -2});
  EXPECT_TENSOR(eval1("Div", {a, b}), DType::i64, {4}, {3, -3, -3, 3}, kTolExact);
}

TEST(Arithmetic, IntegerDivByZeroThrows) {
  EXPECT_KILN_ERROR(eval1("Div", {tensor<int64_t>({2}, {4, 5}), tensor<int64_t>({2}, {1, 0})}), {"division by zero"});
  EXPECT_KILN_ERROR(eval1("Div", {tensor<int32_t>({1}, {4}), scalar<int32_t>(0)}), {"division by zero"});
}

TEST(Arithmetic, FloatDivByZeroIsIeee) {
  EXPECT_TENSOR(eval1("Div", {tensor<float>({3}, {1, -1, 0}), scalar<float>(0)}), DType::f32, {3},
                {kInf, -kInf, kNaN}, kTolF32);
}

// ---- Mod ------------------------------------------------------------------------------------------------

TEST(Mod, IntegerSignFollowsDivisor) {
  // numpy: np.mod([-7,7,-7,7,6],[3,-3,-3,3,3]) = [2,-2,-1,1,0]
  Tensor a = tensor<int64_t>({5}, {-7, 7, -7, 7, 6});
  Tensor b = tensor<int64_t>({5}, {3, -3, -3, 3, 3});
  EXPECT_TENSOR(eval1("Mod", {a, b}), DType::i64, {5}, {2, -2, -1, 1, 0}, kTolExact);
  Tensor a32 = tensor<int32_t>({5}, {-7, 7, -7, 7, 6});
  Tensor b32 = tensor<int32_t>({5}, {3, -3, -3, 3, 3});
  EXPECT_TENSOR(eval1("Mod", {a32, b32}), DType::i32, {5}, {2, -2, -1, 1, 0}, kTolExact);
}

TEST(Mod, IntegerFmodSignFollowsDividend) {
  // numpy: np.fmod([-7,7,-7,7,6],[3,-3,-3,3,3]) = [-1,1,-1,1,0]
  Tensor a = tensor<int64_t>({5}, {-7, 7, -7, 7, 6});
  Tensor b = tensor<int64_t>({5}, {3, -3, -3, 3, 3});
  EXPECT_TENSOR(eval1("Mod", {a, b}, Attr().i("fmod", 1)), DType::i64, {5}, {-1, 1, -1, 1, 0}, kTolExact);
}

TEST(Mod, Float) {
  Tensor a = tensor<float>({3}, {-7.5f, 7.5f, 5.25f});
  Tensor b = tensor<float>({3}, {2, -2, 1.5f});
  // numpy: np.fmod(...) = [-1.5, 1.5, 0.75]; np.mod(...) = [0.5, -0.5, 0.75]
  EXPECT_TENSOR(eval1("Mod", {a, b}, Attr().i("fmod", 1)), DType::f32, {3}, {-1.5, 1.5, 0.75}, kTolF32);
  EXPECT_TENSOR(eval1("Mod", {a, b}), DType::f32, {3}, {0.5, -0.5, 0.75}, kTolF32);
}

TEST(Mod, IntegerModByZeroThrows) {
  EXPECT_KILN_ERROR(eval1("Mod", {tensor<int64_t>({1}, {5}), tensor<int64_t>({1}, {0})}), {"modulo by zero"});
}

// ---- Pow ------------------------------------------------------------------------------------------------

TEST(Pow, SquareCubeSqrtAndGeneral) {
  Tensor x = tensor<float>({3}, {-1.5f, 0.5f, 2.2f});
  EXPECT_TENSOR(eval1("Pow", {x, scalar<float>(2)}), DType::f32, {3}, {2.25, 0.25, 4.84}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {x, scalar<float>(3)}), DType::f32, {3}, {-3.375, 0.125, 10.648}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {x, scalar<float>(0)}), DType::f32, {3}, {1, 1, 1}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {x, scalar<float>(1)}), DType::f32, {3}, {-1.5, 0.5, 2.2}, kTolF32);
  Tensor p = tensor<float>({4}, {0.25f, 1, 2, 9.5f});
  // numpy: np.sqrt / np.power(p, 1.5) / np.power(p, -1.0) on the float32 values
  EXPECT_TENSOR(eval1("Pow", {p, scalar<float>(0.5f)}), DType::f32, {4}, {0.5, 1, 1.4142135623730951, 3.082207001484488},
                kTolF32);
  EXPECT_TENSOR(eval1("Pow", {p, scalar<float>(1.5f)}), DType::f32, {4},
                {0.125, 1, 2.8284271247461903, 29.280966514102637}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {p, scalar<float>(-1)}), DType::f32, {4}, {4, 1, 0.5, 0.10526315789473684}, kTolF32);
}

TEST(Pow, NegativeBaseFractionalExponentIsNaN) {
  EXPECT_TENSOR(eval1("Pow", {tensor<float>({2}, {-4, -8}), scalar<float>(1.5f)}), DType::f32, {2}, {kNaN, kNaN},
                kTolF32);
}

TEST(Pow, PerElementExponentAndIntegerExponentDtype) {
  Tensor x = tensor<float>({2, 2}, {2, 3, 4, 5});
  EXPECT_TENSOR(eval1("Pow", {x, tensor<float>({2}, {2, 3})}), DType::f32, {2, 2}, {4, 27, 16, 125}, kTolF32);
  // The exponent may have its own (integer) dtype; the output follows the base.
  EXPECT_TENSOR(eval1("Pow", {x, scalar<int64_t>(2)}), DType::f32, {2, 2}, {4, 9, 16, 25}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {x, scalar<int32_t>(3)}), DType::f32, {2, 2}, {8, 27, 64, 125}, kTolF32);
  EXPECT_TENSOR(eval1("Pow", {tensor<double>({2}, {2, 9}), scalar<double>(0.5)}), DType::f64, {2},
                {1.4142135623730951, 3}, kTolF64);
}

// ---- comparisons and logic -------------------------------------------------------------------------

template <typename T>
void check_comparisons(DType dt) {
  SCOPED_TRACE(dtype_name(dt));
  Tensor a = tensor<T>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = tensor<T>({3}, {2, 2, 6});
  EXPECT_TENSOR(eval1("Equal", {a, b}), DType::boolean, {2, 3}, {0, 1, 0, 0, 0, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Less", {a, b}), DType::boolean, {2, 3}, {1, 0, 1, 0, 0, 0}, kTolExact);
  EXPECT_TENSOR(eval1("Greater", {a, b}), DType::boolean, {2, 3}, {0, 0, 0, 1, 1, 0}, kTolExact);
  EXPECT_TENSOR(eval1("LessOrEqual", {a, b}), DType::boolean, {2, 3}, {1, 1, 1, 0, 0, 1}, kTolExact);
  EXPECT_TENSOR(eval1("GreaterOrEqual", {a, b}), DType::boolean, {2, 3}, {0, 1, 0, 1, 1, 1}, kTolExact);
}

TEST(Compare, AllDtypes) {
  check_comparisons<float>(DType::f32);
  check_comparisons<double>(DType::f64);
  check_comparisons<int64_t>(DType::i64);
  check_comparisons<int32_t>(DType::i32);
}

TEST(Compare, EqualOnBool) {
  EXPECT_TENSOR(eval1("Equal", {tensor<bool>({3}, {true, false, true}), scalar<bool>(true)}), DType::boolean, {3},
                {1, 0, 1}, kTolExact);
}

TEST(Logic, AndOrXorNotWithBroadcast) {
  Tensor a = tensor<bool>({2, 2}, {true, true, false, false});
  Tensor b = tensor<bool>({2}, {true, false});
  EXPECT_TENSOR(eval1("And", {a, b}), DType::boolean, {2, 2}, {1, 0, 0, 0}, kTolExact);
  EXPECT_TENSOR(eval1("Or", {a, b}), DType::boolean, {2, 2}, {1, 1, 1, 0}, kTolExact);
  EXPECT_TENSOR(eval1("Xor", {a, b}), DType::boolean, {2, 2}, {0, 1, 1, 0}, kTolExact);
  EXPECT_TENSOR(eval1("Not", {a}), DType::boolean, {2, 2}, {0, 0, 1, 1}, kTolExact);
}

// ---- variadic -------------------------------------------------------------------------------------------

TEST(Variadic, MaxMinSumMeanThreeInputsBroadcast) {
  Tensor a = tensor<float>({2, 2}, {1, 5, -3, 4});
  Tensor b = tensor<float>({2}, {2, 2});
  Tensor c = scalar<float>(3);
  EXPECT_TENSOR(eval1("Max", {a, b, c}), DType::f32, {2, 2}, {3, 5, 3, 4}, kTolF32);
  EXPECT_TENSOR(eval1("Min", {a, b, c}), DType::f32, {2, 2}, {1, 2, -3, 2}, kTolF32);
  EXPECT_TENSOR(eval1("Sum", {a, b, c}), DType::f32, {2, 2}, {6, 10, 2, 9}, kTolF32);
  EXPECT_TENSOR(eval1("Mean", {a, b, c}), DType::f32, {2, 2}, {2, 10.0 / 3, 2.0 / 3, 3}, kTolF32);
}

TEST(Variadic, FirstInputBroadcastAndSingleInput) {
  Tensor row = tensor<float>({2}, {1, 2});
  Tensor m = tensor<float>({2, 2}, {10, 20, 30, 40});
  EXPECT_TENSOR(eval1("Sum", {row, m}), DType::f32, {2, 2}, {11, 22, 31, 42}, kTolF32);
  EXPECT_TENSOR(eval1("Sum", {m}), DType::f32, {2, 2}, {10, 20, 30, 40}, kTolF32);
  EXPECT_TENSOR(eval1("Max", {row}), DType::f32, {2}, {1, 2}, kTolF32);
}

TEST(Variadic, Integers) {
  Tensor a = tensor<int64_t>({3}, {-5, 0, 9});
  Tensor b = tensor<int64_t>({3}, {1, -2, 9});
  EXPECT_TENSOR(eval1("Max", {a, b}), DType::i64, {3}, {1, 0, 9}, kTolExact);
  EXPECT_TENSOR(eval1("Min", {a, b}), DType::i64, {3}, {-5, -2, 9}, kTolExact);
  EXPECT_TENSOR(eval1("Sum", {a, b, a}), DType::i64, {3}, {-9, -2, 27}, kTolExact);
  Tensor c = tensor<int32_t>({2}, {4, -4});
  EXPECT_TENSOR(eval1("Max", {c, scalar<int32_t>(0)}), DType::i32, {2}, {4, 0}, kTolExact);
}

TEST(Variadic, MaxMinPropagateNaN) {
  Tensor a = tensor<float>({2}, {NAN, 1});
  Tensor b = tensor<float>({2}, {0, NAN});
  EXPECT_TENSOR(eval1("Max", {a, b}), DType::f32, {2}, {kNaN, kNaN}, kTolF32);
  EXPECT_TENSOR(eval1("Min", {a, b}), DType::f32, {2}, {kNaN, kNaN}, kTolF32);
}

// ---- unary --------------------------------------------------------------------------------------------

// x as float32; the expected values below are numpy/math.erf on these float32 values in float64.
Tensor unary_x() { return tensor<float>({7}, {-2.5f, -1.0f, -0.3f, 0.0f, 0.4f, 1.0f, 2.7f}); }

TEST(Unary, Transcendentals) {
  Tensor x = unary_x();
  EXPECT_TENSOR(eval1("Erf", {x}), DType::f32, {7},
                {-0.999593047982555, -0.8427007929497149, -0.32862677175271543, 0.0, 0.4283923607779012,
                 0.8427007929497149, 0.9998656672967724},
                kTolF32);
  EXPECT_TENSOR(eval1("Tanh", {x}), DType::f32, {7},
                {-0.9866142981514303, -0.7615941559557649, -0.2913126233608736, 0.0, 0.37994896735522943,
                 0.7615941559557649, 0.9910074545318577},
                kTolF32);
  EXPECT_TENSOR(eval1("Exp", {x}), DType::f32, {7},
                {0.0820849986238988, 0.3678794411714424, 0.7408182118504766, 1.0, 1.4918247065332384,
                 2.718281828459045, 14.87973243439375},
                kTolF32);
  EXPECT_TENSOR(eval1("Sigmoid", {x}), DType::f32, {7},
                {0.07585818002124355, 0.2689414213699951, 0.4255574802741708, 0.5, 0.5986876615445177,
                 0.7310585786300049, 0.9370266467567105},
                kTolF32);
  EXPECT_TENSOR(eval1("Sin", {x}), DType::f32, {7},
                {-0.5984721441039564, -0.8414709848078965, -0.295520218049838, 0.0, 0.38941834779860185,
                 0.8414709848078965, 0.4273798371243103},
                kTolF32);
  EXPECT_TENSOR(eval1("Cos", {x}), DType::f32, {7},
                {-0.8011436155469338, 0.5403023058681397, 0.9553364856027307, 1.0, 0.9210609916817707,
                 0.5403023058681397, -0.9040721623961208},
                kTolF32);
}

TEST(Unary, SoftplusIncludingLargeInputs) {
  EXPECT_TENSOR(eval1("Softplus", {unary_x()}), DType::f32, {7},
                {0.07888973429254964, 0.31326168751822286, 0.5543552393954866, 0.6931471805599453,
                 0.913015255968409, 1.3132616875182228, 2.765043606457503},
                kTolF32);
  // numpy: np.log1p(np.exp(-30.0)) = 9.357622968839737e-14; softplus(30) = 30 to float precision.
  EXPECT_TENSOR(eval1("Softplus", {tensor<float>({3}, {30, -30, 100})}), DType::f32, {3},
                {30, 9.357622968839737e-14, 100}, kTolF32);
}

TEST(Unary, GeluExactAndTanh) {
  // exact: 0.5*x*(1+erf(x/sqrt(2))); tanh: 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))
  EXPECT_TENSOR(eval1("Gelu", {unary_x()}), DType::f32, {7},
                {-0.015524163314440398, -0.15865525393145707, -0.11462657653421583, 0.0, 0.2621687014287721,
                 0.8413447460685429, 2.6906392195918416},
                kTolF32);
  EXPECT_TENSOR(eval1("Gelu", {unary_x()}, Attr().s("approximate", "tanh")), DType::f32, {7},
                {-0.015084266089998577, -0.1588080093917233, -0.1146290796485276, 0.0, 0.2621611742115757,
                 0.8411919906082768, 2.6911124542205034},
                kTolF32);
}

TEST(Unary, SqrtLogReciprocal) {
  Tensor p = tensor<float>({4}, {0.25f, 1, 2, 9.5f});
  EXPECT_TENSOR(eval1("Sqrt", {p}), DType::f32, {4}, {0.5, 1, 1.4142135623730951, 3.082207001484488}, kTolF32);
  EXPECT_TENSOR(eval1("Log", {p}), DType::f32, {4}, {-1.3862943611198906, 0, 0.6931471805599453, 2.251291798606495},
                kTolF32);
  EXPECT_TENSOR(eval1("Reciprocal", {tensor<float>({3}, {-4, 0.5f, 0})}), DType::f32, {3}, {-0.25, 2, kInf}, kTolF32);
  EXPECT_TENSOR(eval1("Log", {tensor<float>({2}, {0, -1})}), DType::f32, {2}, {-kInf, kNaN}, kTolF32);
}

TEST(Unary, ReluFloorCeil) {
  Tensor x = unary_x();
  EXPECT_TENSOR(eval1("Relu", {x}), DType::f32, {7}, {0, 0, 0, 0, 0.4, 1, 2.7}, kTolF32);
  EXPECT_TENSOR(eval1("Floor", {x}), DType::f32, {7}, {-3, -1, -1, 0, 0, 1, 2}, kTolF32);
  EXPECT_TENSOR(eval1("Ceil", {x}), DType::f32, {7}, {-2, -1, 0, 0, 1, 1, 3}, kTolF32);
}

TEST(Unary, Float64) {
  Tensor x = tensor<double>({3}, {-1, 0, 0.5});
  EXPECT_TENSOR(eval1("Exp", {x}), DType::f64, {3}, {0.36787944117144233, 1, 1.6487212707001282}, kTolF64);
  EXPECT_TENSOR(eval1("Tanh", {x}), DType::f64, {3}, {-0.7615941559557649, 0, 0.46211715726000974}, kTolF64);
}

template <typename T>
void check_signed_unary(DType dt) {
  SCOPED_TRACE(dtype_name(dt));
  Tensor x = tensor<T>({3}, {-3, 0, 5});
  EXPECT_TENSOR(eval1("Neg", {x}), dt, {3}, {3, 0, -5}, kTolExact);
  EXPECT_TENSOR(eval1("Abs", {x}), dt, {3}, {3, 0, 5}, kTolExact);
  EXPECT_TENSOR(eval1("Sign", {x}), dt, {3}, {-1, 0, 1}, kTolExact);
}

TEST(Unary, NegAbsSignAllNumericDtypes) {
  check_signed_unary<float>(DType::f32);
  check_signed_unary<double>(DType::f64);
  check_signed_unary<int64_t>(DType::i64);
  check_signed_unary<int32_t>(DType::i32);
  EXPECT_TENSOR(eval1("Abs", {tensor<float>({2}, {-0.25f, 0.75f})}), DType::f32, {2}, {0.25, 0.75}, kTolF32);
}

TEST(Unary, FloatOnlyOpsRejectIntegers) {
  EXPECT_KILN_ERROR(infer_output("Sqrt", {value_of(DType::i64, {2})}), {"expects a float input", "i64", "Sqrt"});
  EXPECT_KILN_ERROR(infer_output("Exp", {value_of(DType::i32, {2})}), {"expects a float input"});
}

// ---- Cast --------------------------------------------------------------------------------------------

TEST(Cast, FloatToInt64Truncates) {
  // numpy: np.array([-2.7,-0.5,0.5,2.7,3.0], np.float32).astype(np.int64) = [-2,0,0,2,3]
  Tensor x = tensor<float>({5}, {-2.7f, -0.5f, 0.5f, 2.7f, 3.0f});
  EXPECT_TENSOR(eval1("Cast", {x}, Attr().s("to", "i64")), DType::i64, {5}, {-2, 0, 0, 2, 3}, kTolExact);
  EXPECT_TENSOR(eval1("Cast", {x}, Attr().s("to", "i32")), DType::i32, {5}, {-2, 0, 0, 2, 3}, kTolExact);
}

TEST(Cast, ToBool) {
  EXPECT_TENSOR(eval1("Cast", {tensor<float>({4}, {0.0f, -0.0f, 0.1f, -3.0f})}, Attr().s("to", "bool")),
                DType::boolean, {4}, {0, 0, 1, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Cast", {tensor<int64_t>({3}, {0, 7, -1})}, Attr().s("to", "bool")), DType::boolean, {3},
                {0, 1, 1}, kTolExact);
}

TEST(Cast, FromBoolAndBetweenIntegers) {
  Tensor b = tensor<bool>({3}, {true, false, true});
  EXPECT_TENSOR(eval1("Cast", {b}, Attr().s("to", "f32")), DType::f32, {3}, {1, 0, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Cast", {b}, Attr().s("to", "i64")), DType::i64, {3}, {1, 0, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Cast", {tensor<int32_t>({2}, {-7, 2147483647})}, Attr().s("to", "i64")), DType::i64, {2},
                {-7, 2147483647}, kTolExact);
  EXPECT_TENSOR(eval1("Cast", {tensor<int64_t>({2}, {-7, 123456})}, Attr().s("to", "i32")), DType::i32, {2},
                {-7, 123456}, kTolExact);
  // 2^40 is exactly representable in float32.
  EXPECT_TENSOR(eval1("Cast", {tensor<int64_t>({3}, {-3, 0, int64_t{1} << 40})}, Attr().s("to", "f32")), DType::f32,
                {3}, {-3, 0, 1099511627776.0}, kTolExact);
}

TEST(Cast, FloatWidthsAndSmallIntegers) {
  Tensor x = tensor<float>({3}, {1.9f, 200.0f, -5.5f});
  EXPECT_TENSOR(eval1("Cast", {x}, Attr().s("to", "f64")), DType::f64, {3}, {1.899999976158142, 200, -5.5}, kTolF64);
  EXPECT_TENSOR(eval1("Cast", {tensor<double>({2}, {0.1, -2.5})}, Attr().s("to", "f32")), DType::f32, {2}, {0.1, -2.5},
                kTolF32);
  EXPECT_TENSOR(eval1("Cast", {tensor<float>({2}, {1.9f, 200.0f})}, Attr().s("to", "u8")), DType::u8, {2}, {1, 200},
                kTolExact);
  EXPECT_TENSOR(eval1("Cast", {tensor<float>({2}, {-5.5f, 100.2f})}, Attr().s("to", "i8")), DType::i8, {2}, {-5, 100},
                kTolExact);
  EXPECT_TENSOR(eval1("Cast", {tensor<uint8_t>({2}, {0, 255})}, Attr().s("to", "f32")), DType::f32, {2}, {0, 255},
                kTolExact);
}

TEST(Cast, UnknownOrUnsupportedTarget) {
  EXPECT_KILN_ERROR(infer_output("Cast", {value_of(DType::f32, {2})}, Attr().s("to", "float17")),
                    {"unknown dtype", "float17"});
  // The shape rule accepts every dtype, but 16-bit floats only cast to and from float types.
  EXPECT_KILN_ERROR(eval1("Cast", {Tensor(DType::bf16, {1})}, Attr().s("to", "i64")), {"Cast from bf16 to i64"});
}

// ---- Where ------------------------------------------------------------------------------------------

TEST(Where, BroadcastConditionColumn) {
  Tensor cond = tensor<bool>({2, 1}, {true, false});
  Tensor x = iota_f32({2, 3});
  EXPECT_TENSOR(eval1("Where", {cond, x, scalar<float>(-1)}), DType::f32, {2, 3}, {1, 2, 3, -1, -1, -1}, kTolExact);
}

TEST(Where, BroadcastConditionRowAndOtherColumn) {
  Tensor cond = tensor<bool>({3}, {true, false, true});
  Tensor x = iota_f32({2, 3});
  Tensor y = tensor<float>({2, 1}, {10, 20});
  EXPECT_TENSOR(eval1("Where", {cond, x, y}), DType::f32, {2, 3}, {1, 10, 3, 4, 20, 6}, kTolExact);
}

TEST(Where, IntegerAndBoolValuesKeyedOnValues) {
  Tensor cond = tensor<bool>({3}, {false, true, false});
  EXPECT_TENSOR(eval1("Where", {cond, tensor<int64_t>({3}, {1, 2, 3}), tensor<int64_t>({3}, {-1, -2, -3})}),
                DType::i64, {3}, {-1, 2, -3}, kTolExact);
  EXPECT_TENSOR(eval1("Where", {cond, scalar<bool>(true), scalar<bool>(false)}), DType::boolean, {3}, {0, 1, 0},
                kTolExact);
  // The registry key is the values' dtype, not the bool condition's.
  GraphBuilder b;
  int c = b.input("c", DType::boolean, shape({3}));
  int xv = b.input("x", DType::i32, shape({3}));
  int out = b.node1("Where", {c, xv, xv}, "out");
  b.output(out);
  ops::infer_node(b.g, 0);
  EXPECT_EQ(ops::kernel_dtype(b.g, b.g.nodes[0]), DType::i32);
}

TEST(Where, NonBoolConditionRejected) {
  EXPECT_KILN_ERROR(infer_output("Where", {value_of(DType::f32, {2}), value_of(DType::f32, {2}),
                                           value_of(DType::f32, {2})}),
                    {"condition must be bool"});
}

// ---- Clip -------------------------------------------------------------------------------------------

TEST(Clip, WithAndWithoutMinMax) {
  Tensor x = tensor<float>({5}, {-5, -1, 0, 2, 7});
  EXPECT_TENSOR(eval1("Clip", {x, scalar<float>(-1.5f), scalar<float>(3)}), DType::f32, {5}, {-1.5, -1, 0, 2, 3},
                kTolF32);
  EXPECT_TENSOR(eval1("Clip", {x, scalar<float>(-1.5f)}), DType::f32, {5}, {-1.5, -1, 0, 2, 7}, kTolF32);
  EXPECT_TENSOR(eval1("Clip", {x, Tensor(), scalar<float>(3)}), DType::f32, {5}, {-5, -1, 0, 2, 3}, kTolF32);
  EXPECT_TENSOR(eval1("Clip", {x}), DType::f32, {5}, {-5, -1, 0, 2, 7}, kTolF32);
}

TEST(Clip, Integers) {
  Tensor x = tensor<int64_t>({4}, {-10, 0, 5, 100});
  EXPECT_TENSOR(eval1("Clip", {x, scalar<int64_t>(0), scalar<int64_t>(50)}), DType::i64, {4}, {0, 0, 5, 50}, kTolExact);
  Tensor y = tensor<int32_t>({3}, {-10, 0, 5});
  EXPECT_TENSOR(eval1("Clip", {y, Tensor(), scalar<int32_t>(1)}), DType::i32, {3}, {-10, 0, 1}, kTolExact);
}

TEST(Clip, MinGreaterThanMaxGivesMax) {
  // ONNX Clip-13: "When 'min' is greater than 'max', the clip operator sets all the 'input' values to the
  // value of 'max'" (= Min(max, Max(input, min))); numpy.clip(x, 4, 1) agrees.
  Tensor x = tensor<float>({5}, {-5, -1, 0, 2, 7});
  EXPECT_TENSOR(eval1("Clip", {x, scalar<float>(4), scalar<float>(1)}), DType::f32, {5}, {1, 1, 1, 1, 1}, kTolF32);
}

TEST(Clip, NaNPassesThrough) {
  EXPECT_TENSOR(eval1("Clip", {tensor<float>({2}, {NAN, 9}), scalar<float>(0), scalar<float>(1)}), DType::f32, {2},
                {kNaN, 1}, kTolF32);
}

TEST(Clip, NonScalarBoundsRejected) {
  EXPECT_KILN_ERROR(infer_output("Clip", {value_of(DType::f32, {4}), value_of(DType::f32, {2})}),
                    {"min/max must be scalars", "[2]"});
}

// ---- integer Pow, 8-bit arithmetic (ONNX backend tests test_pow_types_*, test_*_uint8) ---------------------

TEST(Pow, IntegerBaseIntegerExponentIsExact) {
  // numpy: np.power(x, y) on int64/int32, odd sizes and broadcasting
  Tensor x = tensor<int64_t>({3, 1}, {-3, 2, 7});
  Tensor y = tensor<int64_t>({5}, {0, 1, 2, 3, 21});
  EXPECT_TENSOR(eval1("Pow", {x, y}), DType::i64, {3, 5},
                {1, -3, 9, -27, -10460353203.0, 1, 2, 4, 8, 2097152, 1, 7, 49, 343, 558545864083284007.0}, kTolExact);
  EXPECT_TENSOR(eval1("Pow", {tensor<int32_t>({3}, {1, 2, 3}), tensor<int32_t>({3}, {4, 5, 6})}), DType::i32, {3},
                {1, 32, 729}, kTolExact);
  // Negative exponents: 1 and -1 stay exact, anything else truncates to 0; 0 to a negative power is an error.
  EXPECT_TENSOR(eval1("Pow", {tensor<int64_t>({4}, {1, -1, -1, 5}), tensor<int64_t>({4}, {-3, -3, -2, -1})}),
                DType::i64, {4}, {1, -1, 1, 0}, kTolExact);
  EXPECT_KILN_ERROR(eval1("Pow", {scalar<int64_t>(0), scalar<int64_t>(-1)}), {"negative power"});
}

TEST(Pow, IntegerBaseFloatExponentTruncates) {
  // numpy: np.power(np.int64([1,2,3,-8]), np.float32([4,5,0.5,1/3])).astype(np.int64) -> [1, 32, 1, nan->error]
  EXPECT_TENSOR(eval1("Pow", {tensor<int64_t>({3}, {1, 2, 3}), tensor<float>({3}, {4, 5, 0.5f})}), DType::i64, {3},
                {1, 32, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Pow", {tensor<int32_t>({2}, {10, 2}), tensor<double>({2}, {12, 2.5})}), DType::i32, {2},
                {2147483647, 5}, kTolExact);  // saturates at the type's range
  EXPECT_KILN_ERROR(eval1("Pow", {scalar<int64_t>(-8), scalar<float>(0.5f)}), {"not a number"});
}

TEST(Arithmetic, EightBitIntegers) {
  // numpy uint8/int8 arithmetic (wrapping), broadcasting a row over a [3,5] matrix
  Tensor a = tensor<uint8_t>({3, 5}, {12, 13, 14, 15, 16, 200, 201, 202, 203, 204, 0, 1, 2, 3, 255});
  Tensor b = tensor<uint8_t>({5}, {1, 2, 3, 4, 5});
  EXPECT_TENSOR(eval1("Add", {a, b}), DType::u8, {3, 5}, {13, 15, 17, 19, 21, 201, 203, 205, 207, 209, 1, 3, 5, 7, 4},
                kTolExact);
  EXPECT_TENSOR(eval1("Sub", {a, b}), DType::u8, {3, 5},
                {11, 11, 11, 11, 11, 199, 199, 199, 199, 199, 255, 255, 255, 255, 250}, kTolExact);
  EXPECT_TENSOR(eval1("Mul", {a, b}), DType::u8, {3, 5}, {12, 26, 42, 60, 80, 200, 146, 94, 44, 252, 0, 2, 6, 12, 251},
                kTolExact);
  EXPECT_TENSOR(eval1("Div", {a, b}), DType::u8, {3, 5}, {12, 6, 4, 3, 3, 200, 100, 67, 50, 40, 0, 0, 0, 0, 51},
                kTolExact);
  EXPECT_TENSOR(eval1("Mod", {a, b}), DType::u8, {3, 5}, {0, 1, 2, 3, 1, 0, 1, 1, 3, 4, 0, 1, 2, 3, 0}, kTolExact);
  Tensor c = tensor<int8_t>({3}, {-7, 7, -128});
  Tensor d = tensor<int8_t>({3}, {3, -3, 1});
  EXPECT_TENSOR(eval1("Mod", {c, d}), DType::i8, {3}, {2, -2, 0}, kTolExact);  // sign follows the divisor
  EXPECT_TENSOR(eval1("Max", {c, d}), DType::i8, {3}, {3, 7, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Min", {c, d}), DType::i8, {3}, {-7, -3, -128}, kTolExact);
  EXPECT_TENSOR(eval1("Clip", {c, scalar<int8_t>(-5), scalar<int8_t>(5)}), DType::i8, {3}, {-5, 5, -5}, kTolExact);
}

// ---- more unary math and activations (ONNX backend tests test_tan*, test_elu*, ...) -----------------------

TEST(Unary, TrigAndHyperbolic) {
  // numpy: np.tan / np.arctan / np.sinh / np.cosh / np.arcsinh of x; np.arcsin / np.arccos / np.arctanh of y
  Tensor x = tensor<double>({5}, {-2.5, -0.5, 0.25, 1.5, 3.0});
  Tensor y = tensor<double>({4}, {-0.9, -0.2, 0.3, 0.75});
  EXPECT_TENSOR(eval1("Tan", {x}), DType::f64, {5},
                {0.7470222972386602, -0.5463024898437905, 0.25534192122103627, 14.10141994717172, -0.1425465430742778}, kTolF64);
  EXPECT_TENSOR(eval1("Atan", {x}), DType::f64, {5},
                {-1.1902899496825317, -0.4636476090008061, 0.24497866312686414, 0.982793723247329, 1.2490457723982544}, kTolF64);
  EXPECT_TENSOR(eval1("Sinh", {x}), DType::f64, {5},
                {-6.0502044810397875, -0.5210953054937474, 0.2526123168081683, 2.1292794550948173, 10.017874927409903}, kTolF64);
  EXPECT_TENSOR(eval1("Cosh", {x}), DType::f64, {5},
                {6.132289479663686, 1.1276259652063807, 1.031413099879573, 2.352409615243247, 10.067661995777764}, kTolF64);
  EXPECT_TENSOR(eval1("Asinh", {x}), DType::f64, {5},
                {-1.6472311463710958, -0.48121182505960347, 0.24746646154726346, 1.1947632172871092, 1.8184464592320668}, kTolF64);
  EXPECT_TENSOR(eval1("Asin", {y}), DType::f64, {4},
                {-1.1197695149986342, -0.2013579207903308, 0.30469265401539747, 0.8480620789814809}, kTolF64);
  EXPECT_TENSOR(eval1("Acos", {y}), DType::f64, {4},
                {2.6905658417935308, 1.7721542475852274, 1.266103672779499, 0.7227342478134157}, kTolF64);
  EXPECT_TENSOR(eval1("Atanh", {y}), DType::f64, {4},
                {-1.4722194895832204, -0.2027325540540822, 0.3095196042031117, 0.9729550745276566}, kTolF64);
  EXPECT_TENSOR(eval1("Acosh", {tensor<float>({3}, {1, 1.5f, 4.25f})}), DType::f32, {3},
                {0.0, 0.9624236501192069, 2.1259288074588905}, kTolF32);
}

TEST(Unary, RoundHalfToEvenSoftsignHardSwish) {
  // numpy: np.round (halves to even)
  EXPECT_TENSOR(eval1("Round", {tensor<float>({8}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.6f, -2.6f})}), DType::f32, {8},
                {-2, -2, 0, 0, 2, 2, 3, -3}, kTolExact);
  Tensor x = tensor<double>({5}, {-2.5, -0.5, 0.25, 1.5, 3.0});
  EXPECT_TENSOR(eval1("Softsign", {x}), DType::f64, {5}, {-0.7142857142857143, -0.3333333333333333, 0.2, 0.6, 0.75}, kTolF64);
  EXPECT_TENSOR(eval1("HardSwish", {x}), DType::f64, {5},
                {-0.2083333333333333, -0.20833333333333334, 0.13541666666666666, 1.125, 3.0}, kTolF64);
}

TEST(Unary, ActivationsWithAttributes) {
  // numpy: np.where / np.maximum / np.minimum forms of the ONNX definitions
  Tensor x = tensor<double>({5}, {-2.5, -0.5, 0.25, 1.5, 3.0});
  EXPECT_TENSOR(eval1("LeakyRelu", {x}, Attr().f("alpha", 0.1)), DType::f64, {5}, {-0.25, -0.05, 0.25, 1.5, 3.0}, kTolF64);
  EXPECT_TENSOR(eval1("LeakyRelu", {x}), DType::f64, {5}, {-0.025, -0.005, 0.25, 1.5, 3.0}, kTolF64);  // alpha 0.01
  EXPECT_TENSOR(eval1("ThresholdedRelu", {x}), DType::f64, {5}, {0, 0, 0, 1.5, 3.0}, kTolF64);
  EXPECT_TENSOR(eval1("Elu", {x}, Attr().f("alpha", 2.0)), DType::f64, {5},
                {-1.8358300027522023, -0.7869386805747332, 0.25, 1.5, 3.0}, kTolF64);
  EXPECT_TENSOR(eval1("Celu", {x}, Attr().f("alpha", 2.0)), DType::f64, {5},
                {-1.4269904062796197, -0.44239843385719024, 0.25, 1.5, 3.0}, kTolF64);
  EXPECT_TENSOR(eval1("HardSigmoid", {x}), DType::f64, {5}, {0.0, 0.4, 0.55, 0.8, 1.0}, kTolF64);
  EXPECT_TENSOR(eval1("Shrink", {x}, Attr().f("lambd", 1.0).f("bias", 0.5)), DType::f64, {5}, {-2.0, 0, 0, 1.0, 2.5},
                kTolF64);
}

TEST(Unary, IsNaNIsInf) {
  Tensor x = tensor<float>({5}, {1, static_cast<float>(kNaN), static_cast<float>(kInf), static_cast<float>(-kInf), -3});
  EXPECT_TENSOR(eval1("IsNaN", {x}), DType::boolean, {5}, {0, 1, 0, 0, 0}, kTolExact);
  EXPECT_TENSOR(eval1("IsInf", {x}), DType::boolean, {5}, {0, 0, 1, 1, 0}, kTolExact);
  EXPECT_TENSOR(eval1("IsInf", {x}, Attr().i("detect_negative", 0)), DType::boolean, {5}, {0, 0, 1, 0, 0}, kTolExact);
  EXPECT_TENSOR(eval1("IsInf", {x}, Attr().i("detect_positive", 0)), DType::boolean, {5}, {0, 0, 0, 1, 0}, kTolExact);
  EXPECT_KILN_ERROR(infer_output("IsNaN", {value_of(DType::i64, {2})}), {"expects a float input"});
}

}  // namespace
}  // namespace kiln::test
