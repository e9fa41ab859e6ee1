// Kernel dispatch: ISA selection, oneDNN vs ref choice, a ref kernel and a test family for every op.
#include <map>
#include <set>
#include <string>

#include "kernels/isa.h"
#include "kernels/kernel.h"
#include "ops/op_schema.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using kernels::Isa;

TEST(Dispatch, ActiveIsaNotAboveDetected) {
  EXPECT_LE(kernels::active_isa(), kernels::detected_isa());
  EXPECT_STREQ(kernels::isa_name(Isa::ref), "ref");
  EXPECT_STREQ(kernels::isa_name(Isa::avx2), "avx2");
  EXPECT_STREQ(kernels::isa_name(Isa::avx512), "avx512");
  const std::string features = kernels::cpu_features();
  if (kernels::detected_isa() >= Isa::avx2) {
    EXPECT_NE(features.find("avx2"), std::string::npos) << features;
  }
  if (kernels::detected_isa() >= Isa::avx512) {
    EXPECT_NE(features.find("avx512f"), std::string::npos) << features;
  }
}

TEST(Dispatch, MatMulPicksOneDnnOnAvx2AndRefOtherwise) {
  for (const char* op : {"MatMul", "Gemm"}) {
    const kernels::KernelEntry* k = kernels::select_kernel(op, DType::f32);
    ASSERT_NE(k, nullptr) << op;
    if (kernels::active_isa() >= Isa::avx2) {
      EXPECT_EQ(k->isa, Isa::avx2) << op;
      EXPECT_NE(k->name.find("onednn"), std::string::npos) << k->name;
    } else {
      EXPECT_EQ(k->isa, Isa::ref) << op;
    }
    EXPECT_EQ(k->op, op);
    EXPECT_EQ(k->dtype, DType::f32);
  }
}

TEST(Dispatch, FallsBackToRefAndMissesUnknown) {
  // Sub has only its reference kernel (Add and Mul have AVX2 / AVX-512 ones: x86_kernels_test.cc).
  const kernels::KernelEntry* sub = kernels::select_kernel("Sub", DType::f32);
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->isa, Isa::ref);
  EXPECT_EQ(sub->name, "sub_ref_f32");
  EXPECT_EQ(kernels::select_kernel("NoSuchOp", DType::f32), nullptr);
  EXPECT_EQ(kernels::select_kernel("Softmax", DType::i64), nullptr);  // no integer Softmax
  EXPECT_EQ(kernels::find_kernel("MatMul", DType::f32, Isa::avx512), nullptr);
  EXPECT_EQ(kernels::find_kernel("MatMul", DType::i64, Isa::ref), nullptr);
}

// The natural registry dtype of each op: f32, except ops that only take bools.
DType natural_dtype(const std::string& op) {
  static const std::set<std::string> bool_ops = {"And", "Or", "Xor", "Not"};
  return bool_ops.count(op) ? DType::boolean : DType::f32;
}

TEST(Dispatch, EverySchemaOpHasARefKernel) {
  const std::vector<std::string> ops = ops::supported_ops();
  ASSERT_GT(ops.size(), 60u);
  for (const std::string& op : ops) {
    EXPECT_NE(ops::find_schema(op), nullptr) << op;
    const kernels::KernelEntry* k = kernels::find_kernel(op, natural_dtype(op), Isa::ref);
    EXPECT_NE(k, nullptr) << op << " has no ref kernel for " << dtype_name(natural_dtype(op));
    if (k) {
      EXPECT_EQ(k->op, op);
    }
  }
  EXPECT_EQ(ops::find_schema("Conv"), nullptr);
}

TEST(Dispatch, IntegerKernelsWhereSchemasAllowThem) {
  // Shape-manipulating and integer-capable ops must run on i64 (shape chains are i64 tensors).
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Equal", "Where", "Cast", "Concat", "Gather", "Slice", "Reshape",
                         "Unsqueeze", "Squeeze", "Shape", "Expand", "Range", "CumSum", "ReduceSum", "ArgMax",
                         "ConstantOfShape", "Transpose", "Tile", "Identity"})
    EXPECT_NE(kernels::find_kernel(op, DType::i64, Isa::ref), nullptr) << op;
}

// Each supported op is tested in the unit-test file of its family. A new schema must be added here
// (and to that file): this test fails until it is.
TEST(Dispatch, EveryOpHasATestFamily) {
  const std::map<std::string, std::vector<std::string>> families = {
      {"tests/ops/elementwise_test.cc",
       {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
        "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "Sqrt", "Erf", "Tanh", "Exp", "Log", "Reciprocal", "Relu",
        "Sigmoid", "Floor", "Ceil", "Sin", "Cos", "Softplus", "Gelu", "Neg", "Abs", "Sign", "Not", "Cast", "Where",
        "Clip", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Round", "Softsign",
        "LeakyRelu", "ThresholdedRelu", "Elu", "Celu", "HardSigmoid", "HardSwish", "Shrink", "IsNaN", "IsInf"}},
      {"tests/ops/shape_test.cc",
       {"Shape", "Size", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Slice", "Gather",
        "Expand", "Tile", "ConstantOfShape", "Range", "CumSum", "Identity", "Dropout", "Split"}},
      {"tests/ops/reduce_test.cc",
       {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceProd", "ReduceL1", "ReduceSumSquare",
        "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin"}},
      {"tests/ops/nn_test.cc", {"Softmax", "LogSoftmax", "LayerNormalization", "SkipLayerNormalization"}},
      {"tests/ops/matmul_test.cc", {"MatMul", "Gemm"}},
      {"tests/ops/fused_test.cc", {"FusedMatMul", "MultiHeadAttention"}},
  };
  std::set<std::string> listed;
  for (const auto& [file, ops] : families)
    for (const std::string& op : ops) EXPECT_TRUE(listed.insert(op).second) << op << " listed twice";
  const std::vector<std::string> supported = ops::supported_ops();
  for (const std::string& op : supported) EXPECT_TRUE(listed.count(op)) << op << " has no test family";
  for (const std::string& op : listed)
    EXPECT_NE(ops::find_schema(op), nullptr) << op << " is listed but not a supported op";
}

}  // namespace
}  // namespace kiln::test
