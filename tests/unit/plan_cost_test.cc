// Step costs read from the op schemas (OpSchema::compute / ::flops): exact FLOPs for arithmetic-bound
// ops, one per output element for the rest, and the layer count the pipeline cuts by.
#include "ops/op_schema.h"
#include "plan/cost.h"
#include "plan/stages.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// A plan of hand-made steps: each step's tensors are appended with the given shapes (f32).
struct PlanMaker {
  plan::Plan p;
  int tensor(const Dims& dims) {
    plan::PlanTensor t;
    t.name = "t" + std::to_string(p.tensors.size());
    t.dims = dims;
    t.bytes = static_cast<uint64_t>(num_elements(dims)) * 4;
    p.tensors.push_back(t);
    return static_cast<int>(p.tensors.size() - 1);
  }
  size_t step(const std::string& op, const std::vector<Dims>& ins, const Dims& out, ir::Attrs attrs = {}) {
    plan::PlanStep s;
    s.op = op;
    s.name = op + std::to_string(p.steps.size());
    for (const Dims& d : ins) s.inputs.push_back(d.empty() ? -1 : tensor(d));
    s.outputs = {tensor(out)};
    s.attrs = std::move(attrs);
    p.steps.push_back(s);
    return p.steps.size() - 1;
  }
};

TEST(PlanCost, FlopsFromTheSchemaHooks) {
  PlanMaker m;
  const size_t fused = m.step("FusedMatMul", {{2, 5, 8}, {8, 16}}, {2, 5, 16});
  const size_t matmul = m.step("MatMul", {{3, 7}, {7, 11}}, {3, 11});
  ir::Attrs ta;
  ta.set_int("transA", 1);
  const size_t gemm = m.step("Gemm", {{9, 4}, {9, 6}}, {4, 6}, ta);  // A is [k, m] = [9, 4]
  ir::Attrs heads;
  heads.set_int("num_heads", 2);
  const size_t mha = m.step("MultiHeadAttention", {{2, 5, 8}, {2, 7, 8}, {2, 7, 8}}, {2, 5, 8}, heads);
  ir::Attrs packed = heads;
  packed.set_int("packed_qkv", 1);
  const size_t mha_packed = m.step("MultiHeadAttention", {{2, 5, 24}, {}, {}}, {2, 5, 8}, packed);
  const size_t add = m.step("Add", {{3, 4}, {3, 4}}, {3, 4});

  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, fused), 2.0 * 2 * 5 * 16 * 8);
  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, matmul), 2.0 * 3 * 11 * 7);
  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, gemm), 2.0 * 4 * 6 * 9);
  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, mha), 4.0 * 2 * 5 * 7 * 8);         // Sk from K
  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, mha_packed), 4.0 * 2 * 5 * 5 * 8);  // Sk = Sq
  EXPECT_DOUBLE_EQ(plan::step_flops(m.p, add), 12.0);                         // one per output element

  // Memory-bound steps cost their bytes only; a GEMM its arithmetic on top.
  EXPECT_DOUBLE_EQ(plan::step_cost(m.p, add), 3 * 48.0 / 20e9);
  EXPECT_GT(plan::step_cost(m.p, matmul), (3 * 7 + 7 * 11 + 3 * 11) * 4.0 / 20e9);
}

TEST(PlanCost, LayersAreAttentionStepsElseGemms) {
  PlanMaker gemms;
  for (int i = 0; i < 3; ++i) gemms.step("MatMul", {{2, 2}, {2, 2}}, {2, 2});
  gemms.step("Relu", {{2, 2}}, {2, 2});
  EXPECT_EQ(plan::count_layers(gemms.p), 3);
  ir::Attrs heads;
  heads.set_int("num_heads", 1);
  gemms.step("MultiHeadAttention", {{1, 2, 2}, {1, 2, 2}, {1, 2, 2}}, {1, 2, 2}, heads);
  EXPECT_EQ(plan::count_layers(gemms.p), 1);
}

TEST(PlanCost, EveryArithmeticBoundSchemaHasAFlopsHook) {
  for (const std::string& op : ops::supported_ops()) {
    const ops::OpSchema* s = ops::find_schema(op);
    ASSERT_NE(s, nullptr) << op;
    if (s->compute != ops::ComputeKind::memory) {
      EXPECT_TRUE(static_cast<bool>(s->flops)) << op;
    }
  }
}

TEST(PlanCost, UnknownOpIsAnInternalError) {
  PlanMaker m;
  m.step("NoSuchOp", {{2}}, {2});
  EXPECT_THROW(plan::step_flops(m.p, 0), InternalError);
}

}  // namespace
}  // namespace kiln::test
