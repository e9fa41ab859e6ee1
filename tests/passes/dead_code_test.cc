// passes::eliminate_dead_code IR-to-IR: unused nodes removed transitively, values compacted, count.
#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TEST(DeadCode, UnusedBranchRemovedWithCount) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  int w = b.constant("w", tensor<float>({2}, {1, 2}));
  int a = b.node1("Relu", {x}, "a");
  int e = b.node1("Exp", {x}, "e");          // dead
  int n = b.node1("Add", {e, w}, "n");       // dead, the only reader of w
  b.node1("Neg", {n}, "nn");                 // dead
  b.output(b.node1("Sigmoid", {a}, "out"));
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_dead_code(b.g), 3u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[2]) {\n"
            "  %a: f32[2] = Relu(%x)\n"
            "  %out: f32[2] = Sigmoid(%a)\n"
            "  return %out\n"
            "}\n");
  EXPECT_EQ(b.g.find_value("w"), -1);  // the constant only the dead branch read is gone
  EXPECT_EQ(b.g.values.size(), 3u);
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(DeadCode, NothingDeadIsANoop) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  b.output(b.node1("Relu", {x}, "r"));
  passes::fold_constants(b.g);
  const std::string before = ir::to_text(b.g);
  EXPECT_EQ(passes::eliminate_dead_code(b.g), 0u);
  EXPECT_EQ(ir::to_text(b.g), before);
}

TEST(DeadCode, PartlyLiveMultiOutputNodeAndUnusedInputsStay) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 4}));
  int unused = b.input("unused", DType::i64, shape({3}));
  int scale = b.constant("scale", tensor<float>({4}, {1, 1, 1, 1}));
  std::vector<int> ln = b.node("LayerNormalization", {x, scale}, {"y", "mean", "inv"});
  b.node1("Relu", {ln[2]}, "dead");
  b.output(ln[0]);
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_dead_code(b.g), 1u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[2,4], %unused: i64[3]) {\n"
            "  const %scale: f32[4] = [1, 1, 1, 1]\n"
            "  %y: f32[2,4], %mean: f32[2,1], %inv: f32[2,1] = LayerNormalization(%x, %scale)\n"
            "  return %y\n"
            "}\n");
  EXPECT_NE(b.g.find_value("unused"), -1);
  (void)unused;
}

}  // namespace
}  // namespace kiln::test
