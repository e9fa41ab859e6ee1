// passes::fold_constants IR-to-IR: shape chains and constant math folded after binding, others kept.
#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

Tensor i64s(std::initializer_list<int64_t> v) { return tensor<int64_t>({static_cast<int64_t>(v.size())}, v); }

// x: f32[batch, sequence, 8] reshaped to [batch, sequence, 2, 4] through the chain PyTorch exports for
// view(x.size(0), x.size(1), heads, head_dim).
GraphBuilder head_split_graph() {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", "sequence", 8}));
  int zero = b.constant("zero", scalar<int64_t>(0));
  int one = b.constant("one", scalar<int64_t>(1));
  int axes0 = b.constant("axes0", i64s({0}));
  int heads = b.constant("heads", i64s({2}));
  int head_dim = b.constant("head_dim", i64s({4}));
  int s = b.node1("Shape", {x}, "s");
  int n = b.node1("Gather", {s, zero}, "n", Attr().i("axis", 0));
  int q = b.node1("Gather", {s, one}, "q", Attr().i("axis", 0));
  int nu = b.node1("Unsqueeze", {n, axes0}, "nu");
  int qu = b.node1("Unsqueeze", {q, axes0}, "qu");
  int cat = b.node1("Concat", {nu, qu, heads, head_dim}, "cat", Attr().i("axis", 0));
  b.output(b.node1("Reshape", {x, cat}, "y"));
  return b;
}

CompileOptions batch_seq(int64_t batch, int64_t seq) {
  CompileOptions o;
  o.batch = batch;
  o.seq = seq;
  return o;
}

TEST(FoldConstants, ShapeChainFoldsAwayAfterBinding) {
  GraphBuilder b = head_split_graph();
  passes::bind_shapes(b.g, batch_seq(2, 7));
  EXPECT_EQ(passes::fold_constants(b.g), 6u);  // Shape, 2 Gather, 2 Unsqueeze, Concat
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[2,7,8]) {\n"
            "  const %cat: i64[4] = [2, 7, 2, 4]\n"
            "  %y: f32[2,7,2,4] = Reshape(%x, %cat)\n"
            "  return %y\n"
            "}\n");
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(FoldConstants, DifferentBindingGivesDifferentConstant) {
  GraphBuilder b = head_split_graph();
  passes::bind_shapes(b.g, batch_seq(3, 37));
  passes::fold_constants(b.g);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[3,37,8]) {\n"
            "  const %cat: i64[4] = [3, 37, 2, 4]\n"
            "  %y: f32[3,37,2,4] = Reshape(%x, %cat)\n"
            "  return %y\n"
            "}\n");
}

TEST(FoldConstants, UnboundSymbolicShapeIsAnError) {
  GraphBuilder b = head_split_graph();
  EXPECT_KILN_ERROR(passes::fold_constants(b.g), {"node 's' (Shape)", "[batch,sequence,8]", "not static"});
}

TEST(FoldConstants, ConstantArithmeticFoldsNonConstantInputsStay) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  int c1 = b.constant("c1", tensor<float>({2}, {1, 2}));
  int c2 = b.constant("c2", tensor<float>({2}, {3, 4}));
  int s = b.node1("Add", {c1, c2}, "s");
  int r = b.node1("Sqrt", {s}, "r");
  int m = b.node1("Mul", {r, x}, "m");
  b.output(b.node1("Sub", {m, s}, "out"));
  EXPECT_EQ(passes::fold_constants(b.g), 2u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[2]) {\n"
            "  const %r: f32[2] = [2, 2.4494898]\n"
            "  const %s: f32[2] = [4, 6]\n"
            "  %m: f32[2] = Mul(%r, %x)\n"
            "  %out: f32[2] = Sub(%m, %s)\n"
            "  return %out\n"
            "}\n");
}

TEST(FoldConstants, FullyConstantGraphOutput) {
  GraphBuilder b;
  int x = b.input("x", DType::i64, shape({3}));
  int c = b.constant("c", i64s({5, 6}));
  int one = b.constant("one", scalar<int64_t>(1));
  b.output(b.node1("Relu", {b.node1("Cast", {x}, "xf", Attr().s("to", "f32"))}, "y"));
  b.output(b.node1("Add", {c, one}, "k"));
  EXPECT_EQ(passes::fold_constants(b.g), 1u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: i64[3]) {\n"
            "  const %k: i64[2] = [6, 7]\n"
            "  %xf: f32[3] = Cast<to=\"f32\">(%x)\n"
            "  %y: f32[3] = Relu(%xf)\n"
            "  return %y, %k\n"
            "}\n");
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(FoldConstants, HugeResultsAreNotFolded) {
  // A ConstantOfShape of 17*1024*1024 f32 (68 MB) would bloat the artifact: it stays a runtime step.
  GraphBuilder b;
  int shape_const = b.constant("shape", i64s({17, 1024, 1024}));
  int small_const = b.constant("small", i64s({2}));
  b.output(b.node1("ConstantOfShape", {shape_const}, "big"));
  b.output(b.node1("ConstantOfShape", {small_const}, "zeros"));
  EXPECT_EQ(passes::fold_constants(b.g), 1u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main() {\n"
            "  const %shape: i64[3] = [17, 1024, 1024]\n"
            "  const %zeros: f32[2] = [0, 0]\n"
            "  %big: f32[17,1024,1024] = ConstantOfShape(%shape)\n"
            "  return %big, %zeros\n"
            "}\n");
}

TEST(FoldConstants, KernelErrorsNameTheNode) {
  GraphBuilder b;
  int data = b.constant("data", i64s({1, 2, 3}));
  int idx = b.constant("idx", i64s({5}));
  b.output(b.node1("Gather", {data, idx}, "g"));
  EXPECT_KILN_ERROR(passes::fold_constants(b.g), {"node 'g' (Gather)", "compile time", "index 5"});
}

TEST(FoldConstants, InfersDtypesAndShapesOfKeptNodes) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({4, 6}));
  int w = b.constant("w", Tensor(DType::f32, {6, 3}));
  int mm = b.node1("MatMul", {x, w}, "mm");
  int am = b.node1("ArgMax", {mm}, "am", Attr().i("axis", 1).i("keepdims", 0));
  b.output(b.node1("Equal", {am, am}, "eq"));
  EXPECT_EQ(passes::fold_constants(b.g), 0u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[4,6]) {\n"
            "  const %w: f32[6,3] = fill(0)\n"
            "  %mm: f32[4,3] = MatMul(%x, %w)\n"
            "  %am: i64[4] = ArgMax<axis=1, keepdims=0>(%mm)\n"
            "  %eq: bool[4] = Equal(%am, %am)\n"
            "  return %eq\n"
            "}\n");
}

}  // namespace
}  // namespace kiln::test
