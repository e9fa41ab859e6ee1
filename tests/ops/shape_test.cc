// Shape and data-movement ops: shape rules (incl. errors) and ref kernel values vs hand/NumPy results.
#include <cstdint>
#include <limits>

#include "test_util.h"

namespace kiln::test {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Tensor arange_i64(const Dims& dims, int64_t start = 0) {
  Tensor t(DType::i64, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<int64_t>()[i] = start + i;
  return t;
}
Tensor arange_f32(const Dims& dims) {
  Tensor t(DType::f32, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(i);
  return t;
}
Tensor ints(std::initializer_list<int64_t> v) {
  return tensor<int64_t>({static_cast<int64_t>(v.size())}, v);
}
std::vector<double> range_values(int64_t n, double start = 0) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i);
  return v;
}
Dims inferred_dims(const std::string& op, const std::vector<InputSpec>& in, const ir::Attrs& attrs = ir::Attrs()) {
  return ir::static_dims(infer_output(op, in, attrs).shape);
}

// ---- Shape, Size ---------------------------------------------------------------------------------------

TEST(Shape, FullAndWithStartEnd) {
  Tensor x = arange_f32({2, 3, 4});
  EXPECT_TENSOR(eval1("Shape", {x}), DType::i64, {3}, {2, 3, 4}, kTolExact);
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("start", 1)), DType::i64, {2}, {3, 4}, kTolExact);
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("end", -1)), DType::i64, {2}, {2, 3}, kTolExact);
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("start", -2)), DType::i64, {2}, {3, 4}, kTolExact);
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("start", 1).i("end", 2)), DType::i64, {1}, {3}, kTolExact);
  // Out-of-range start/end clamp (ONNX Shape-15).
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("start", -10).i("end", 10)), DType::i64, {3}, {2, 3, 4}, kTolExact);
  EXPECT_TENSOR(eval1("Shape", {x}, Attr().i("start", 3)), DType::i64, {0}, {}, kTolExact);
}

TEST(Shape, OfScalarAndSize) {
  EXPECT_TENSOR(eval1("Shape", {scalar<float>(1)}), DType::i64, {0}, {}, kTolExact);
  EXPECT_TENSOR(eval1("Size", {arange_f32({2, 3, 4})}), DType::i64, {}, {24}, kTolExact);
  EXPECT_TENSOR(eval1("Size", {scalar<int64_t>(5)}), DType::i64, {}, {1}, kTolExact);
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze (shape rules via ops::infer_node) ---------------------------

TEST(Reshape, ShapeRule) {
  const InputSpec x = value_of(DType::f32, {2, 3, 4});
  EXPECT_EQ(inferred_dims("Reshape", {x, const_of(ints({0, -1}))}), (Dims{2, 12}));
  EXPECT_EQ(inferred_dims("Reshape", {x, const_of(ints({-1}))}), (Dims{24}));
  EXPECT_EQ(inferred_dims("Reshape", {x, const_of(ints({4, 0, 2}))}), (Dims{4, 3, 2}));
  EXPECT_EQ(inferred_dims("Reshape", {x, const_of(tensor<int32_t>({2}, {6, 4}))}), (Dims{6, 4}));
  // allowzero=1: a 0 is a real zero-length dim, not "copy the input dim".
  EXPECT_EQ(inferred_dims("Reshape", {value_of(DType::f32, {0, 3}), const_of(ints({3, 0}))}, Attr().i("allowzero", 1)),
            (Dims{3, 0}));
  EXPECT_EQ(infer_output("Reshape", {value_of(DType::i64, {6}), const_of(ints({2, 3}))}).dtype, DType::i64);
}

TEST(Reshape, BadTargetsThrow) {
  const InputSpec x = value_of(DType::f32, {2, 3, 4});
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {x, const_of(ints({5, -1}))}), {"cannot reshape", "[2,3,4]", "[5,-1]"});
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {x, const_of(ints({7}))}), {"cannot reshape", "24 elements"});
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {x, const_of(ints({-1, -1}))}), {"more than one -1"});
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {x, const_of(ints({-2, 12}))}), {"negative dim"});
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {value_of(DType::f32, {6}), const_of(ints({6, 0}))}), {"copies dim 1"});
  // The target must be known at compile time.
  EXPECT_KILN_ERROR(inferred_dims("Reshape", {x, value_of(DType::i64, {2})}), {"compile-time constant", "Reshape"});
}

TEST(Reshape, KernelKeepsBytes) {
  EXPECT_TENSOR(eval1("Reshape", {arange_i64({2, 3}), ints({3, -1})}), DType::i64, {3, 2}, range_values(6), kTolExact);
}

TEST(Flatten, ShapeRule) {
  const InputSpec x = value_of(DType::f32, {2, 3, 4});
  EXPECT_EQ(inferred_dims("Flatten", {x}), (Dims{2, 12}));
  EXPECT_EQ(inferred_dims("Flatten", {x}, Attr().i("axis", 0)), (Dims{1, 24}));
  EXPECT_EQ(inferred_dims("Flatten", {x}, Attr().i("axis", -1)), (Dims{6, 4}));
  EXPECT_EQ(inferred_dims("Flatten", {x}, Attr().i("axis", 3)), (Dims{24, 1}));
  EXPECT_KILN_ERROR(inferred_dims("Flatten", {x}, Attr().i("axis", 4)), {"Flatten axis out of range"});
  EXPECT_TENSOR(eval1("Flatten", {arange_f32({2, 2, 2})}), DType::f32, {2, 4}, range_values(8), kTolExact);
}

TEST(Squeeze, ShapeRule) {
  const InputSpec x = value_of(DType::f32, {1, 3, 1, 2});
  EXPECT_EQ(inferred_dims("Squeeze", {x}), (Dims{3, 2}));
  EXPECT_EQ(inferred_dims("Squeeze", {x, const_of(ints({0, -2}))}), (Dims{3, 2}));
  EXPECT_EQ(inferred_dims("Squeeze", {x, const_of(ints({2}))}), (Dims{1, 3, 2}));
  // Opset < 13: axes as an attribute.
  EXPECT_EQ(inferred_dims("Squeeze", {x}, Attr().ints("axes", {0})), (Dims{3, 1, 2}));
  EXPECT_KILN_ERROR(inferred_dims("Squeeze", {x, const_of(ints({1}))}), {"cannot squeeze axis 1 of size 3"});
  EXPECT_KILN_ERROR(inferred_dims("Squeeze", {x, const_of(ints({4}))}), {"Squeeze axis 4 is out of range"});
  EXPECT_TENSOR(eval1("Squeeze", {arange_f32({1, 3}), ints({0})}), DType::f32, {3}, {0, 1, 2}, kTolExact);
}

TEST(Unsqueeze, ShapeRule) {
  EXPECT_EQ(inferred_dims("Unsqueeze", {value_of(DType::f32, {3}), const_of(ints({0, -1}))}), (Dims{1, 3, 1}));
  EXPECT_EQ(inferred_dims("Unsqueeze", {value_of(DType::f32, {2, 3}), const_of(ints({1}))}), (Dims{2, 1, 3}));
  EXPECT_EQ(inferred_dims("Unsqueeze", {value_of(DType::f32, {2, 3})}, Attr().ints("axes", {0, 3})),
            (Dims{1, 2, 3, 1}));
  EXPECT_EQ(inferred_dims("Unsqueeze", {value_of(DType::f32, {}), const_of(ints({0}))}), (Dims{1}));
  EXPECT_KILN_ERROR(inferred_dims("Unsqueeze", {value_of(DType::f32, {3}), const_of(ints({2, -1}))}),
                    {"Unsqueeze axis -1 repeated"});
  EXPECT_TENSOR(eval1("Unsqueeze", {arange_i64({2}), ints({0})}), DType::i64, {1, 2}, {0, 1}, kTolExact);
}

// ---- Transpose ---------------------------------------------------------------------------------------

TEST(Transpose, ThreeD) {
  // numpy: np.arange(24).reshape(2,3,4).transpose(2,0,1)
  EXPECT_TENSOR(eval1("Transpose", {arange_i64({2, 3, 4})}, Attr().ints("perm", {2, 0, 1})), DType::i64, {4, 2, 3},
                {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23}, kTolExact);
  // numpy: .transpose() (reversed axes) -- the default without `perm`
  EXPECT_TENSOR(eval1("Transpose", {arange_f32({2, 3, 4})}), DType::f32, {4, 3, 2},
                {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23}, kTolExact);
}

TEST(Transpose, FourD) {
  // numpy: np.arange(24).reshape(1,2,3,4).transpose(0,2,1,3) -- the attention head split
  EXPECT_TENSOR(eval1("Transpose", {arange_f32({1, 2, 3, 4})}, Attr().ints("perm", {0, 2, 1, 3})), DType::f32,
                {1, 3, 2, 4}, {0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23},
                kTolExact);
  // numpy: np.arange(120).reshape(2,3,4,5).transpose(3,1,0,2); negative entries name the same axes
  Tensor out = eval1("Transpose", {arange_i64({2, 3, 4, 5})}, Attr().ints("perm", {-1, 1, 0, -2}));
  ASSERT_EQ(out.dims(), (Dims{5, 3, 2, 4}));
  const std::vector<double> first_row = {0, 5, 10, 15, 60, 65, 70, 75, 20, 25, 30, 35, 80, 85, 90, 95};
  for (size_t i = 0; i < first_row.size(); ++i) EXPECT_EQ(out.data_as<int64_t>()[i], first_row[i]) << i;
  EXPECT_EQ(out.data_as<int64_t>()[24], 1);
  EXPECT_EQ(out.data_as<int64_t>()[119], 119);
  EXPECT_EQ(out.data_as<int64_t>()[96], 4);
}

TEST(Transpose, OneByteAndEightByteElements) {
  Tensor b = tensor<bool>({2, 3}, {true, false, false, true, true, false});
  EXPECT_TENSOR(eval1("Transpose", {b}, Attr().ints("perm", {1, 0})), DType::boolean, {3, 2}, {1, 1, 0, 1, 0, 0},
                kTolExact);
  Tensor d = tensor<double>({2, 2}, {1.5, 2.5, 3.5, 4.5});
  EXPECT_TENSOR(eval1("Transpose", {d}), DType::f64, {2, 2}, {1.5, 3.5, 2.5, 4.5}, kTolExact);
}

TEST(Transpose, BadPermThrows) {
  EXPECT_KILN_ERROR(inferred_dims("Transpose", {value_of(DType::f32, {2, 3})}, Attr().ints("perm", {0, 0})),
                    {"not a permutation"});
  EXPECT_KILN_ERROR(inferred_dims("Transpose", {value_of(DType::f32, {2, 3})}, Attr().ints("perm", {0})),
                    {"does not match rank 2"});
}

// ---- Concat ---------------------------------------------------------------------------------------------

TEST(Concat, MiddleAxis) {
  Tensor a = arange_i64({2, 1, 3});
  Tensor b = arange_i64({2, 2, 3}, 100);
  const std::vector<double> expected = {0, 1, 2, 100, 101, 102, 103, 104, 105, 3, 4, 5, 106, 107, 108, 109, 110, 111};
  EXPECT_TENSOR(eval1("Concat", {a, b}, Attr().i("axis", 1)), DType::i64, {2, 3, 3}, expected, kTolExact);
  EXPECT_TENSOR(eval1("Concat", {a, b}, Attr().i("axis", -2)), DType::i64, {2, 3, 3}, expected, kTolExact);
}

TEST(Concat, FirstAndLastAxisThreeInputs) {
  Tensor a = tensor<float>({1, 2}, {1, 2});
  Tensor b = tensor<float>({1, 2}, {3, 4});
  Tensor c = tensor<float>({1, 2}, {5, 6});
  EXPECT_TENSOR(eval1("Concat", {a, b, c}, Attr().i("axis", 0)), DType::f32, {3, 2}, {1, 2, 3, 4, 5, 6}, kTolExact);
  EXPECT_TENSOR(eval1("Concat", {a, b, c}, Attr().i("axis", 1)), DType::f32, {1, 6}, {1, 2, 3, 4, 5, 6}, kTolExact);
  EXPECT_TENSOR(eval1("Concat", {ints({1, 2}), ints({3})}, Attr().i("axis", 0)), DType::i64, {3}, {1, 2, 3}, kTolExact);
}

TEST(Concat, MismatchedShapesThrow) {
  EXPECT_KILN_ERROR(inferred_dims("Concat", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {3, 3})},
                                  Attr().i("axis", 1)),
                    {"input #1 has shape [3,3]"});
  EXPECT_KILN_ERROR(inferred_dims("Concat", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {2, 3, 1})},
                                  Attr().i("axis", 0)),
                    {"rank 3"});
}

// ---- Slice ------------------------------------------------------------------------------------------------

Tensor slice(const Tensor& x, std::initializer_list<int64_t> starts, std::initializer_list<int64_t> ends,
             std::initializer_list<int64_t> axes = {}, std::initializer_list<int64_t> steps = {}) {
  std::vector<Tensor> in = {x, ints(starts), ints(ends)};
  if (axes.size() || steps.size()) in.push_back(axes.size() ? ints(axes) : Tensor());
  if (steps.size()) in.push_back(ints(steps));
  return eval1("Slice", in);
}

TEST(Slice, NegativeStartsAndEndsAndInt64MaxEnd) {
  Tensor x = arange_i64({4, 5});  // numpy: x = np.arange(20).reshape(4,5)
  // x[1:-1, -3:]
  EXPECT_TENSOR(slice(x, {1, -3}, {-1, kMax}), DType::i64, {2, 3}, {7, 8, 9, 12, 13, 14}, kTolExact);
  // x[2:]
  EXPECT_TENSOR(slice(x, {2}, {kMax}, {0}), DType::i64, {2, 5}, range_values(10, 10), kTolExact);
  // x[-100:2, 3:100]: out-of-range starts/ends clamp
  EXPECT_TENSOR(slice(x, {-100, 3}, {2, 100}), DType::i64, {2, 2}, {3, 4, 8, 9}, kTolExact);
}

TEST(Slice, NegativeSteps) {
  Tensor x = arange_i64({4, 5});
  // x[::-1]
  EXPECT_TENSOR(slice(x, {-1}, {kMin}, {0}, {-1}), DType::i64, {4, 5},
                {15, 16, 17, 18, 19, 10, 11, 12, 13, 14, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4}, kTolExact);
  // x[:, -1:0:-2]
  EXPECT_TENSOR(slice(x, {-1}, {0}, {1}, {-2}), DType::i64, {4, 2}, {4, 2, 9, 7, 14, 12, 19, 17}, kTolExact);
  // x[3:0:-1, ::-1] with axes given out of order
  EXPECT_TENSOR(slice(x, {-1, 3}, {kMin, 0}, {1, 0}, {-1, -1}), DType::i64, {3, 5},
                {19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5}, kTolExact);
}

TEST(Slice, AxesStepsAndIntegerDtypes) {
  Tensor x = arange_f32({4, 5});
  // x[:, 1::2] with a negative axis
  EXPECT_TENSOR(slice(x, {1}, {kMax}, {-1}, {2}), DType::f32, {4, 2}, {1, 3, 6, 8, 11, 13, 16, 18}, kTolExact);
  // i32 starts/ends
  Tensor out = eval1("Slice", {x, tensor<int32_t>({1}, {1}), tensor<int32_t>({1}, {3}), tensor<int32_t>({1}, {1})});
  EXPECT_TENSOR(out, DType::f32, {4, 2}, {1, 2, 6, 7, 11, 12, 16, 17}, kTolExact);
}

TEST(Slice, EmptyResults) {
  Tensor x = arange_f32({4, 5});
  EXPECT_EQ(slice(x, {3}, {1}, {0}).dims(), (Dims{0, 5}));
  EXPECT_EQ(slice(x, {1}, {3}, {0}, {-1}).dims(), (Dims{0, 5}));
  // numpy: np.zeros(0)[-1::-1].shape == (0,) and np.zeros((2,0))[:, ::-2].shape == (2, 0)
  EXPECT_EQ(inferred_dims("Slice", {value_of(DType::f32, {0}), const_of(ints({-1})), const_of(ints({kMin})),
                                    const_of(ints({0})), const_of(ints({-1}))}),
            (Dims{0}));
  EXPECT_EQ(inferred_dims("Slice", {value_of(DType::f32, {2, 0}), const_of(ints({0})), const_of(ints({kMax})),
                                    const_of(ints({1})), const_of(ints({-2}))}),
            (Dims{2, 0}));
}

TEST(Slice, ZeroStepThrows) {
  EXPECT_KILN_ERROR(inferred_dims("Slice", {value_of(DType::f32, {4}), const_of(ints({0})), const_of(ints({4})),
                                            const_of(ints({0})), const_of(ints({0}))}),
                    {"step must not be 0"});
}

// ---- Gather ----------------------------------------------------------------------------------------------

TEST(Gather, Axis0WithNegativeIndex) {
  Tensor data = arange_i64({3, 4});
  EXPECT_TENSOR(eval1("Gather", {data, ints({2, -1, 0})}), DType::i64, {3, 4}, {8, 9, 10, 11, 8, 9, 10, 11, 0, 1, 2, 3},
                kTolExact);
  // A scalar index drops the axis.
  EXPECT_TENSOR(eval1("Gather", {data, scalar<int64_t>(-2)}), DType::i64, {4}, {4, 5, 6, 7}, kTolExact);
}

TEST(Gather, Axis1And2DIndicesAndInt32Indices) {
  Tensor data = arange_f32({3, 4});
  // numpy: g[:, [3,-4,1]]
  EXPECT_TENSOR(eval1("Gather", {data, ints({3, -4, 1})}, Attr().i("axis", 1)), DType::f32, {3, 3},
                {3, 0, 1, 7, 4, 5, 11, 8, 9}, kTolExact);
  // numpy: g[np.array([[2,0],[-1,1]])]
  EXPECT_TENSOR(eval1("Gather", {data, tensor<int32_t>({2, 2}, {2, 0, -1, 1})}), DType::f32, {2, 2, 4},
                {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7}, kTolExact);
}

TEST(Gather, OutOfRangeIndexThrowsNamingIt) {
  Tensor data = arange_f32({3, 4});
  EXPECT_KILN_ERROR(eval1("Gather", {data, ints({0, 3})}), {"index 3", "position 1", "[-3, 3)"});
  EXPECT_KILN_ERROR(eval1("Gather", {data, ints({-4})}), {"index -4", "out of range"});
  EXPECT_KILN_ERROR(eval1("Gather", {data, ints({4})}, Attr().i("axis", 1)), {"index 4", "[-4, 4)"});
}

TEST(Gather, NonIntegerIndicesRejected) {
  EXPECT_KILN_ERROR(inferred_dims("Gather", {value_of(DType::f32, {3}), value_of(DType::f32, {1})}),
                    {"indices must be i64 or i32"});
}

// ---- Expand, Tile -----------------------------------------------------------------------------------------

TEST(Expand, BroadcastsToShape) {
  // numpy: np.broadcast_to(np.array([[1],[2],[3]]), (2,3,4))
  EXPECT_TENSOR(eval1("Expand", {tensor<int64_t>({3, 1}, {1, 2, 3}), ints({2, 3, 4})}), DType::i64, {2, 3, 4},
                {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}, kTolExact);
  // A target with 1s keeps the input's dims (ONNX Expand is a two-way broadcast).
  EXPECT_TENSOR(eval1("Expand", {tensor<float>({3, 1}, {1, 2, 3}), ints({1, 1})}), DType::f32, {3, 1}, {1, 2, 3},
                kTolExact);
  EXPECT_TENSOR(eval1("Expand", {scalar<bool>(true), ints({2})}), DType::boolean, {2}, {1, 1}, kTolExact);
  EXPECT_KILN_ERROR(inferred_dims("Expand", {value_of(DType::f32, {3}), const_of(ints({2}))}), {"cannot be broadcast"});
}

TEST(Tile, Repeats) {
  // numpy: np.tile(np.array([[1,2],[3,4]]), (2,3))
  EXPECT_TENSOR(eval1("Tile", {tensor<int32_t>({2, 2}, {1, 2, 3, 4}), ints({2, 3})}), DType::i32, {4, 6},
                {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}, kTolExact);
  EXPECT_KILN_ERROR(inferred_dims("Tile", {value_of(DType::f32, {2, 2}), const_of(ints({2}))}),
                    {"repeats has 1 entries for rank 2"});
}

// ---- CumSum ------------------------------------------------------------------------------------------------

TEST(CumSum, Axes) {
  Tensor m = arange_i64({3, 4});
  // numpy: np.cumsum(m, 0), np.cumsum(m, 1)
  EXPECT_TENSOR(eval1("CumSum", {m, scalar<int64_t>(0)}), DType::i64, {3, 4}, {0, 1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 21},
                kTolExact);
  EXPECT_TENSOR(eval1("CumSum", {m, scalar<int64_t>(1)}), DType::i64, {3, 4}, {0, 1, 3, 6, 4, 9, 15, 22, 8, 17, 27, 38},
                kTolExact);
  EXPECT_TENSOR(eval1("CumSum", {m, scalar<int32_t>(-1)}), DType::i64, {3, 4},
                {0, 1, 3, 6, 4, 9, 15, 22, 8, 17, 27, 38}, kTolExact);
}

TEST(CumSum, ExclusiveAndReverse) {
  Tensor v = tensor<float>({4}, {1, 2, 3, 4});
  Tensor axis = scalar<int64_t>(0);
  EXPECT_TENSOR(eval1("CumSum", {v, axis}), DType::f32, {4}, {1, 3, 6, 10}, kTolF32);
  EXPECT_TENSOR(eval1("CumSum", {v, axis}, Attr().i("exclusive", 1)), DType::f32, {4}, {0, 1, 3, 6}, kTolF32);
  EXPECT_TENSOR(eval1("CumSum", {v, axis}, Attr().i("reverse", 1)), DType::f32, {4}, {10, 9, 7, 4}, kTolF32);
  EXPECT_TENSOR(eval1("CumSum", {v, axis}, Attr().i("exclusive", 1).i("reverse", 1)), DType::f32, {4}, {9, 7, 4, 0},
                kTolF32);
  EXPECT_TENSOR(eval1("CumSum", {tensor<int32_t>({3}, {5, -1, 2}), axis}), DType::i32, {3}, {5, 4, 6}, kTolExact);
  // f64 (ONNX's test_cumsum_* use double data); numpy: np.cumsum([[1,2,3],[4,5,6.5]], axis=0) reversed exclusive
  EXPECT_TENSOR(eval1("CumSum", {tensor<double>({2, 3}, {1, 2, 3, 4, 5, 6.5}), scalar<int64_t>(0)},
                      Attr().i("exclusive", 1).i("reverse", 1)),
                DType::f64, {2, 3}, {4, 5, 6.5, 0, 0, 0}, kTolF64);
}

// ---- Split --------------------------------------------------------------------------------------------------

TEST(Split, SizesFromInputAndAttributeZeroSizedPartAndNegativeAxis) {
  // numpy: np.split(np.arange(15).reshape(3,5), [2,2], axis=1) -> [3,2], [3,0], [3,3]
  std::vector<int64_t> v(15);
  for (int i = 0; i < 15; ++i) v[i] = i;
  Tensor x = tensor<int64_t>({3, 5}, v);
  std::vector<Tensor> parts = eval_op("Split", {x, tensor<int64_t>({3}, {2, 0, 3})}, Attr().i("axis", -1), 3);
  EXPECT_TENSOR(parts.at(0), DType::i64, {3, 2}, {0, 1, 5, 6, 10, 11}, kTolExact);
  EXPECT_TENSOR(parts.at(1), DType::i64, {3, 0}, {}, kTolExact);
  EXPECT_TENSOR(parts.at(2), DType::i64, {3, 3}, {2, 3, 4, 7, 8, 9, 12, 13, 14}, kTolExact);
  // Older opsets: the sizes as an attribute; axis 0.
  parts = eval_op("Split", {x}, Attr().ints("split", {1, 2}), 2);
  EXPECT_TENSOR(parts.at(0), DType::i64, {1, 5}, {0, 1, 2, 3, 4}, kTolExact);
  EXPECT_TENSOR(parts.at(1), DType::i64, {2, 5}, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, kTolExact);
}

TEST(Split, EqualPartsAndUnevenLast) {
  Tensor x = tensor<float>({7}, {1, 2, 3, 4, 5, 6, 7});
  std::vector<Tensor> parts = eval_op("Split", {x}, Attr(), 3);  // ceil(7/3) = 3: [3, 3, 1] (opset 18)
  EXPECT_TENSOR(parts.at(0), DType::f32, {3}, {1, 2, 3}, kTolExact);
  EXPECT_TENSOR(parts.at(1), DType::f32, {3}, {4, 5, 6}, kTolExact);
  EXPECT_TENSOR(parts.at(2), DType::f32, {1}, {7}, kTolExact);
}

TEST(Split, BadSizesRejected) {
  Tensor x = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_KILN_ERROR(eval_op("Split", {x, tensor<int64_t>({2}, {1, 1})}, Attr().i("axis", 1), 2),
                    {"split sizes add up to 2, but the axis has length 3"});
  EXPECT_KILN_ERROR(eval_op("Split", {x, tensor<int64_t>({2}, {4, -1})}, Attr().i("axis", 1), 2), {"negative"});
  EXPECT_KILN_ERROR(eval_op("Split", {x, tensor<int64_t>({3}, {1, 1, 1})}, Attr().i("axis", 1), 2),
                    {"split has 3 sizes for 2 outputs"});
  EXPECT_KILN_ERROR(eval_op("Split", {x}, Attr(), 3), {"cannot be split into 3 parts"});
}

// ---- Range, ConstantOfShape ---------------------------------------------------------------------------------

TEST(Range, FloatAndIntegers) {
  EXPECT_TENSOR(eval1("Range", {scalar<float>(0), scalar<float>(1), scalar<float>(0.25f)}), DType::f32, {4},
                {0, 0.25, 0.5, 0.75}, kTolF32);
  // numpy: np.arange(1, 2, np.float32(0.3)) has 4 elements
  EXPECT_TENSOR(eval1("Range", {scalar<float>(1), scalar<float>(2), scalar<float>(0.3f)}), DType::f32, {4},
                {1, 1.3, 1.6, 1.9}, kTolF32);
  EXPECT_TENSOR(eval1("Range", {scalar<int64_t>(10), scalar<int64_t>(0), scalar<int64_t>(-3)}), DType::i64, {4},
                {10, 7, 4, 1}, kTolExact);
  EXPECT_TENSOR(eval1("Range", {scalar<int32_t>(1), scalar<int32_t>(4), scalar<int32_t>(1)}), DType::i32, {3},
                {1, 2, 3}, kTolExact);
  EXPECT_TENSOR(eval1("Range", {scalar<int64_t>(5), scalar<int64_t>(5), scalar<int64_t>(1)}), DType::i64, {0}, {},
                kTolExact);
  EXPECT_TENSOR(eval1("Range", {scalar<int64_t>(5), scalar<int64_t>(0), scalar<int64_t>(1)}), DType::i64, {0}, {},
                kTolExact);
  EXPECT_KILN_ERROR(eval1("Range", {scalar<int64_t>(0), scalar<int64_t>(5), scalar<int64_t>(0)}),
                    {"delta must not be 0"});
}

TEST(ConstantOfShape, DefaultAndValues) {
  EXPECT_TENSOR(eval1("ConstantOfShape", {ints({2, 3})}), DType::f32, {2, 3}, {0, 0, 0, 0, 0, 0}, kTolExact);
  EXPECT_TENSOR(eval1("ConstantOfShape", {ints({3})}, Attr().t("value", tensor<int64_t>({1}, {7}))), DType::i64, {3},
                {7, 7, 7}, kTolExact);
  EXPECT_TENSOR(eval1("ConstantOfShape", {ints({2, 2})}, Attr().t("value", tensor<float>({1}, {0.5f}))), DType::f32,
                {2, 2}, {0.5, 0.5, 0.5, 0.5}, kTolExact);
  EXPECT_TENSOR(eval1("ConstantOfShape", {ints({2})}, Attr().t("value", tensor<bool>({1}, {true}))), DType::boolean,
                {2}, {1, 1}, kTolExact);
  EXPECT_TENSOR(eval1("ConstantOfShape", {ints({})}, Attr().t("value", tensor<int32_t>({1}, {-4}))), DType::i32, {},
                {-4}, kTolExact);
}

// ---- Identity, Dropout ---------------------------------------------------------------------------------------

TEST(Identity, CopiesEveryDtype) {
  EXPECT_TENSOR(eval1("Identity", {tensor<float>({2}, {1.5f, -2})}), DType::f32, {2}, {1.5, -2}, kTolExact);
  EXPECT_TENSOR(eval1("Identity", {tensor<uint8_t>({3}, {0, 7, 255})}), DType::u8, {3}, {0, 7, 255}, kTolExact);
}

TEST(Dropout, InferenceIsIdentityAndMaskAllTrue) {
  std::vector<Tensor> out = eval_op("Dropout", {tensor<float>({2, 2}, {1, 2, 3, 4})}, Attr().f("ratio", 0.5), 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TENSOR(out[0], DType::f32, {2, 2}, {1, 2, 3, 4}, kTolExact);
  EXPECT_TENSOR(out[1], DType::boolean, {2, 2}, {1, 1, 1, 1}, kTolExact);
}

}  // namespace
}  // namespace kiln::test
