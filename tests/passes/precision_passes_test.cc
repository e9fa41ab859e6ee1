// auto_cast and quantize_int8, IR-to-IR: which ops are lowered, where casts go (one per value and
// type), graph outputs keeping their name and fp32, int8 weights and scales; and that the lowered
// graph still computes the same thing (reference kernels, low-precision tolerances).
#include <map>

#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// x -> LayerNorm -> {GEMM a, GEMM b} -> Add -> LayerNorm -> y. LN's output feeds two GEMMs: one cast.
struct Model {
  ir::Graph g;
  std::vector<Tensor> inputs;
};
Model two_gemms() {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 5, 8}));
  int ln = b.node1("LayerNormalization", {x, b.constant("g", random_f32({8}, 1)), b.constant("be", random_f32({8}, 2))}, "ln",
                   Attr().f("epsilon", 1e-5));
  int ga = b.node1("FusedMatMul", {ln, b.constant("wa", random_f32({8, 6}, 3)), b.constant("ba", random_f32({6}, 4))}, "ga",
                   Attr().s("activation", "gelu_erf"));
  int gb = b.node1("FusedMatMul", {ln, b.constant("wb", random_f32({8, 6}, 5))}, "gb");
  int sum = b.node1("Add", {ga, gb}, "sum");
  int y = b.node1("LayerNormalization", {sum, b.constant("g2", random_f32({6}, 6))}, "y", Attr().f("epsilon", 1e-5));
  b.output(y);
  Model m{b.g, {random_f32({2, 5, 8}, 7)}};
  passes::fold_constants(m.g);
  ir::verify(m.g, true);
  return m;
}

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

const ir::Node& node_named(const ir::Graph& g, const std::string& name) {
  for (const ir::Node& n : g.nodes)
    if (n.name == name) return n;
  throw std::logic_error("no node " + name);
}

TEST(AutoCast, MatmultCastsGemmInputsOnceAndKeepsFp32Outputs) {
  Model m = two_gemms();
  const std::vector<Tensor> before = run_graph(m.g, m.inputs);
  passes::AutoCastReport r = passes::auto_cast(m.g, "matmult", DType::bf16);
  EXPECT_EQ(r.lowered, 2u);
  EXPECT_EQ(r.casts, 1u);  // ln -> bf16 once for both GEMMs (the weight casts are of constants)
  passes::fold_constants(m.g);
  ir::verify(m.g, true);
  EXPECT_EQ(count_op(m.g, "Cast"), 1u);
  const ir::Node& ga = node_named(m.g, "ga");
  EXPECT_EQ(m.g.values[ga.inputs[0]].dtype, DType::bf16);
  EXPECT_EQ(m.g.values[ga.inputs[1]].dtype, DType::bf16);  // folded bf16 weight
  EXPECT_EQ(m.g.values[ga.inputs[2]].dtype, DType::f32);   // bias stays fp32
  EXPECT_EQ(m.g.values[ga.outputs[0]].dtype, DType::f32);  // fp32 accumulation and output
  EXPECT_EQ(ga.attrs.get_string("out_dtype", ""), "f32");
  EXPECT_EQ(m.g.values[node_named(m.g, "y").outputs[0]].dtype, DType::f32);
  const std::vector<Tensor> after = run_graph(m.g, m.inputs);
  EXPECT_CLOSE(after[0], before[0], Tolerance{0.05, 0.05});  // LN output of bf16 GEMMs, magnitude ~1
}

// FFN-like: x -> GEMM(gelu) -> GEMM -> y. The first GEMM's output is read only by the second GEMM,
// which would cast it to bf16: the first GEMM writes bf16 itself and no Cast step is left between them.
TEST(AutoCast, MatmultGemmFeedingOnlyAGemmWritesTheLowTypeItself) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 5, 8}));
  int h = b.node1("FusedMatMul", {x, b.constant("w1", random_f32({8, 12}, 1)), b.constant("b1", random_f32({12}, 2))}, "h",
                  Attr().s("activation", "gelu_erf"));
  int y = b.node1("FusedMatMul", {h, b.constant("w2", random_f32({12, 4}, 3))}, "y");
  b.output(y);
  passes::fold_constants(b.g);
  const std::vector<Tensor> in = {random_f32({2, 5, 8}, 4)};
  const std::vector<Tensor> before = run_graph(b.g, in);
  passes::AutoCastReport r = passes::auto_cast(b.g, "matmult", DType::bf16);
  passes::fold_constants(b.g);
  ir::verify(b.g, true);
  EXPECT_EQ(r.casts, 1u);  // x only
  EXPECT_EQ(count_op(b.g, "Cast"), 1u);
  EXPECT_EQ(node_named(b.g, "h").attrs.get_string("out_dtype", ""), "bf16");
  EXPECT_EQ(node_named(b.g, "y").attrs.get_string("out_dtype", ""), "f32");
  EXPECT_EQ(b.g.values[b.g.outputs[0]].dtype, DType::f32);
  EXPECT_CLOSE(run_graph(b.g, in)[0], before[0], Tolerance{0.05, 0.05});
}

TEST(AutoCast, AllLowersFollowersAndCastsTheGraphOutputBack) {
  Model m = two_gemms();
  const std::vector<Tensor> before = run_graph(m.g, m.inputs);
  const std::string out_name = m.g.values[m.g.outputs[0]].name;
  passes::AutoCastReport r = passes::auto_cast(m.g, "all", DType::bf16);
  passes::fold_constants(m.g);
  ir::verify(m.g, true);
  // The first LayerNorm reads the fp32 graph input: it stays fp32 (follow). Both GEMMs, the Add and
  // the second LayerNorm run in bf16.
  EXPECT_EQ(r.lowered, 4u);
  EXPECT_EQ(m.g.values[node_named(m.g, "ln").outputs[0]].dtype, DType::f32);
  EXPECT_EQ(m.g.values[node_named(m.g, "sum").outputs[0]].dtype, DType::bf16);
  EXPECT_EQ(node_named(m.g, "ga").attrs.get_string("out_dtype", ""), "bf16");
  // LN's gamma stays fp32; the output keeps its name and type through a final Cast.
  const ir::Node& y = node_named(m.g, "y");
  EXPECT_EQ(m.g.values[y.inputs[1]].dtype, DType::f32);
  EXPECT_EQ(m.g.values[m.g.outputs[0]].name, out_name);
  EXPECT_EQ(m.g.values[m.g.outputs[0]].dtype, DType::f32);
  EXPECT_EQ(m.g.nodes.back().op, "Cast");
  EXPECT_EQ(r.casts, 2u);  // ln -> bf16, y.bf16 -> f32
  const std::vector<Tensor> after = run_graph(m.g, m.inputs);
  EXPECT_CLOSE(after[0], before[0], Tolerance{0.05, 0.05});
}

TEST(AutoCast, NoneChangesNothingAndUnknownModesFail) {
  Model m = two_gemms();
  const std::string before = ir::to_text(m.g);
  passes::auto_cast(m.g, "none", DType::bf16);
  EXPECT_EQ(ir::to_text(m.g), before);
  EXPECT_KILN_ERROR(passes::auto_cast(m.g, "some", DType::bf16), {"unknown auto-cast mode 'some'"});
  EXPECT_KILN_ERROR(passes::auto_cast(m.g, "all", DType::i8), {"bf16 or fp16"});
}

TEST(QuantizeInt8, PerColumnWeightsAndDynamicOrStaticScales) {
  Model m = two_gemms();
  const std::vector<Tensor> before = run_graph(m.g, m.inputs);
  EXPECT_EQ(passes::quantize_int8(m.g, nullptr), 2u);
  ir::verify(m.g, true);
  const ir::Node& ga = node_named(m.g, "ga");
  ASSERT_EQ(ga.inputs.size(), 5u);
  EXPECT_EQ(m.g.values[ga.inputs[1]].dtype, DType::i8);
  EXPECT_EQ(m.g.values[ga.inputs[4]].constant->dims(), Dims{6});
  EXPECT_EQ(ga.attrs.get_string("quant", ""), "dynamic");
  EXPECT_EQ(m.g.values[ga.outputs[0]].dtype, DType::f32);
  const std::vector<Tensor> after = run_graph(m.g, m.inputs);
  EXPECT_CLOSE(after[0], before[0], Tolerance{0.1, 0.05});

  Model s = two_gemms();
  passes::ActivationRanges ranges{{"ln", 3.0f}};
  EXPECT_EQ(passes::quantize_int8(s.g, &ranges), 2u);
  EXPECT_EQ(node_named(s.g, "gb").attrs.get_string("quant", ""), "static");
  EXPECT_NEAR(node_named(s.g, "gb").attrs.get_float("act_scale", 0), 3.0 / 127, 1e-9);
  Model missing = two_gemms();
  passes::ActivationRanges none;
  EXPECT_KILN_ERROR(passes::quantize_int8(missing.g, &none), {"no calibrated range", "'ln'"});
}

}  // namespace
}  // namespace kiln::test
