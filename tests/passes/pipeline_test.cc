// passes::run_passes on a tiny encoder-like graph: static shapes, pass counts, verified result.
#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// ids: i64[batch, sequence] -> embedding Gather -> Reshape to [batch*sequence, 4] via a Shape chain
// -> Identity -> MatMul; plus a dead branch.
GraphBuilder tiny_encoder() {
  GraphBuilder b;
  int ids = b.input("input_ids", DType::i64, shape({"batch", "sequence"}));
  Tensor table(DType::f32, {10, 4});
  for (int i = 0; i < 40; ++i) table.data_as<float>()[i] = 0.1f * static_cast<float>(i);
  int emb = b.constant("embeddings", table);
  int w = b.constant("w", Tensor(DType::f32, {4, 2}));
  int minus1 = b.constant("minus1", tensor<int64_t>({1}, {-1}));
  int g = b.node1("Gather", {emb, ids}, "h", Attr().i("axis", 0));
  int s = b.node1("Shape", {g}, "hs", Attr().i("start", 2));
  int target = b.node1("Concat", {minus1, s}, "target", Attr().i("axis", 0));
  int flat = b.node1("Reshape", {g, target}, "flat");
  int id = b.node1("Identity", {flat}, "flat_id");
  b.node1("Exp", {flat}, "unused_exp");
  b.output(b.node1("MatMul", {id, w}, "logits"));
  return b;
}

TEST(Pipeline, TinyGraphBecomesStatic) {
  GraphBuilder b = tiny_encoder();
  CompileOptions o;
  o.batch = 2;
  o.seq = 3;
  passes::PassReport r = passes::run_passes(b.g, o);
  EXPECT_EQ(r.folded, 2u);  // Shape, Concat
  EXPECT_EQ(r.noops, 1u);   // Identity
  EXPECT_EQ(r.dead, 1u);    // Exp
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%input_ids: i64[2,3]) {\n"
            "  const %embeddings: f32[10,4] = <40 values>\n"
            "  const %target: i64[2] = [-1, 4]\n"
            "  const %w: f32[4,2] = [0, 0, 0, 0, 0, 0, 0, 0]\n"
            "  %h: f32[2,3,4] = Gather<axis=0>(%embeddings, %input_ids)\n"
            "  %flat: f32[6,4] = Reshape(%h, %target)\n"
            "  %logits: f32[6,2] = FusedMatMul<activation=\"none\">(%flat, %w) @logits/fused_matmul\n"
            "  return %logits\n"
            "}\n");
  EXPECT_NO_THROW(ir::verify(b.g, true));
  for (const ir::Value& v : b.g.values) EXPECT_TRUE(ir::is_static(v.shape)) << v.name;
}

TEST(Pipeline, MissingBindingIsReported) {
  GraphBuilder b = tiny_encoder();
  CompileOptions o;
  o.batch = 2;
  EXPECT_KILN_ERROR(passes::run_passes(b.g, o), {"'input_ids'", "dim 1", "set seq"});
}

TEST(Pipeline, InvalidInputGraphRejectedByVerifier) {
  GraphBuilder b = tiny_encoder();
  b.g.outputs.clear();
  CompileOptions o;
  o.batch = 1;
  o.seq = 1;
  EXPECT_KILN_ERROR(passes::run_passes(b.g, o), {"IR verifier", "no outputs"});
}

}  // namespace
}  // namespace kiln::test
