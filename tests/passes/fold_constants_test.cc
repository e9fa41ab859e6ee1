// passes::fold_constants IR-to-IR: shape chains and constant math folded after binding, others kept.
#include "graph_text.h"

namespace kiln::test {
namespace {

// x: f32[batch, sequence, 8] reshaped to [batch, sequence, 2, 4] through the chain PyTorch exports for
// view(x.size(0), x.size(1), heads, head_dim). fold_constants infers every type again after binding.
const char* kHeadSplit = R"(
  graph main(%x: f32[batch,sequence,8]) {
    const %zero: i64[] = [0]
    const %one: i64[] = [1]
    const %axes0: i64[1] = [0]
    const %heads: i64[1] = [2]
    const %head_dim: i64[1] = [4]
    %s: i64[3] = Shape(%x)
    %n: i64[] = Gather<axis=0>(%s, %zero)
    %q: i64[] = Gather<axis=0>(%s, %one)
    %nu: i64[1] = Unsqueeze(%n, %axes0)
    %qu: i64[1] = Unsqueeze(%q, %axes0)
    %cat: i64[4] = Concat<axis=0>(%nu, %qu, %heads, %head_dim)
    %y: f32[batch,sequence,2,4] = Reshape(%x, %cat)
    return %y
  })";

std::function<size_t(ir::Graph&)> bind_and_fold(int64_t batch, int64_t seq) {
  return [=](ir::Graph& g) {
    CompileOptions o;
    o.batch = batch;
    o.seq = seq;
    passes::bind_shapes(g, o);
    return passes::fold_constants(g);
  };
}

TEST(FoldConstants, ShapeChainFoldsAwayAfterBinding) {
  PassRun r = EXPECT_PASS(bind_and_fold(2, 7), kHeadSplit, R"(
    graph main(%x: f32[2,7,8]) {
      const %cat: i64[4] = [2, 7, 2, 4]
      %y: f32[2,7,2,4] = Reshape(%x, %cat)
      return %y
    })");
  EXPECT_EQ(r.count, 6u);  // Shape, 2 Gather, 2 Unsqueeze, Concat
  EXPECT_NO_THROW(ir::verify(r.after, true));
}

TEST(FoldConstants, DifferentBindingGivesDifferentConstant) {
  EXPECT_PASS(bind_and_fold(3, 37), kHeadSplit, R"(
    graph main(%x: f32[3,37,8]) {
      const %cat: i64[4] = [3, 37, 2, 4]
      %y: f32[3,37,2,4] = Reshape(%x, %cat)
      return %y
    })");
}

TEST(FoldConstants, UnboundSymbolicShapeIsAnError) {
  ir::Graph g = ir::parse_graph(kHeadSplit);
  EXPECT_KILN_ERROR(passes::fold_constants(g), {"node 's' (Shape)", "[batch,sequence,8]", "not static"});
}

TEST(FoldConstants, ConstantArithmeticFoldsNonConstantInputsStay) {
  PassRun r = EXPECT_PASS(passes::fold_constants, R"(
    graph main(%x: f32[2]) {
      const %c1: f32[2] = [1, 2]
      const %c2: f32[2] = [3, 4]
      %s: f32[2] = Add(%c1, %c2)
      %r: f32[2] = Sqrt(%s)
      %m: f32[2] = Mul(%r, %x)
      %out: f32[2] = Sub(%m, %s)
      return %out
    })", R"(
    graph main(%x: f32[2]) {
      const %r: f32[2] = [2, 2.4494898]
      const %s: f32[2] = [4, 6]
      %m: f32[2] = Mul(%r, %x)
      %out: f32[2] = Sub(%m, %s)
      return %out
    })");
  EXPECT_EQ(r.count, 2u);
}

TEST(FoldConstants, FullyConstantGraphOutput) {
  PassRun r = EXPECT_PASS(passes::fold_constants, R"(
    graph main(%x: i64[3]) {
      const %c: i64[2] = [5, 6]
      const %one: i64[] = [1]
      %xf: f32[3] = Cast<to="f32">(%x)
      %y: f32[3] = Relu(%xf)
      %k: i64[2] = Add(%c, %one)
      return %y, %k
    })", R"(
    graph main(%x: i64[3]) {
      const %k: i64[2] = [6, 7]
      %xf: f32[3] = Cast<to="f32">(%x)
      %y: f32[3] = Relu(%xf)
      return %y, %k
    })");
  EXPECT_EQ(r.count, 1u);
  EXPECT_NO_THROW(ir::verify(r.after, true));
}

TEST(FoldConstants, HugeResultsAreNotFolded) {
  // A ConstantOfShape of 17*1024*1024 f32 (68 MB) would bloat the artifact: it stays a runtime step.
  PassRun r = EXPECT_PASS(passes::fold_constants, R"(
    graph main() {
      const %shape: i64[3] = [17, 1024, 1024]
      const %small: i64[1] = [2]
      %big: f32[17,1024,1024] = ConstantOfShape(%shape)
      %zeros: f32[2] = ConstantOfShape(%small)
      return %big, %zeros
    })", R"(
    graph main() {
      const %shape: i64[3] = [17, 1024, 1024]
      const %zeros: f32[2] = [0, 0]
      %big: f32[17,1024,1024] = ConstantOfShape(%shape)
      return %big, %zeros
    })");
  EXPECT_EQ(r.count, 1u);
}

TEST(FoldConstants, KernelErrorsNameTheNode) {
  ir::Graph g = ir::parse_graph(R"(
    graph main() {
      const %data: i64[3] = [1, 2, 3]
      const %idx: i64[1] = [5]
      %g: i64[1] = Gather(%data, %idx)
      return %g
    })");
  EXPECT_KILN_ERROR(passes::fold_constants(g), {"node 'g' (Gather)", "compile time", "index 5"});
}

TEST(FoldConstants, InfersDtypesAndShapesOfKeptNodes) {
  // The outputs are untyped (f32[]), as the frontend creates them.
  PassRun r = EXPECT_PASS(passes::fold_constants, R"(
    graph main(%x: f32[4,6]) {
      const %w: f32[6,3] = fill(0)
      %mm: f32[] = MatMul(%x, %w)
      %am: f32[] = ArgMax<axis=1, keepdims=0>(%mm)
      %eq: f32[] = Equal(%am, %am)
      return %eq
    })", R"(
    graph main(%x: f32[4,6]) {
      const %w: f32[6,3] = fill(0)
      %mm: f32[4,3] = MatMul(%x, %w)
      %am: i64[4] = ArgMax<axis=1, keepdims=0>(%mm)
      %eq: bool[4] = Equal(%am, %am)
      return %eq
    })", kUntypedBefore);
  EXPECT_EQ(r.count, 0u);
}

}  // namespace
}  // namespace kiln::test
