// passes::bind_shapes IR-to-IR: --batch/--seq/--dim binding of symbolic input dims, and its errors.
#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

CompileOptions opts(int64_t batch, int64_t seq, std::map<std::string, int64_t> dims = {}) {
  CompileOptions o;
  o.batch = batch;
  o.seq = seq;
  o.dims = std::move(dims);
  return o;
}

// input_ids, attention_mask: i64[batch, sequence]; their sum is the output.
GraphBuilder bert_like_inputs() {
  GraphBuilder b;
  int ids = b.input("input_ids", DType::i64, shape({"batch", "sequence"}));
  int mask = b.input("attention_mask", DType::i64, shape({"batch", "sequence"}));
  b.output(b.node1("Add", {ids, mask}, "sum"));
  return b;
}

TEST(BindShapes, BatchAndSeqBindAxes0And1) {
  GraphBuilder b = bert_like_inputs();
  passes::bind_shapes(b.g, opts(2, 7));
  // Only input shapes change; node outputs are still untyped until fold_constants infers them.
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%input_ids: i64[2,7], %attention_mask: i64[2,7]) {\n"
            "  %sum: f32[] = Add(%input_ids, %attention_mask)\n"
            "  return %sum\n"
            "}\n");
}

TEST(BindShapes, OtherSymbolsFromDimAndSharedSymbolsAgree) {
  GraphBuilder b;
  int x = b.input("pixels", DType::f32, shape({"batch", 3, "height", "width"}));
  // The same symbol on a later axis takes the value already bound for it.
  int m = b.input("mask", DType::f32, shape({"batch", 1, "height"}));
  b.output(b.node1("Relu", {x}, "r"));
  b.output(b.node1("Relu", {m}, "s"));
  passes::bind_shapes(b.g, opts(4, 0, {{"height", 16}, {"width", 9}}));
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%pixels: f32[4,3,16,9], %mask: f32[4,1,16]) {\n"
            "  %r: f32[] = Relu(%pixels)\n"
            "  %s: f32[] = Relu(%mask)\n"
            "  return %r, %s\n"
            "}\n");
}

TEST(BindShapes, SeqSymbolReusedOnLaterAxis) {
  GraphBuilder b;
  int ids = b.input("ids", DType::i64, shape({"batch", "sequence"}));
  int bias = b.input("bias", DType::f32, shape({"batch", "sequence", "sequence"}));
  b.output(b.node1("Identity", {ids}, "a"));
  b.output(b.node1("Identity", {bias}, "c"));
  passes::bind_shapes(b.g, opts(1, 5));
  EXPECT_EQ(ir::shape_to_string(b.g.values[bias].shape), "[1,5,5]");
}

TEST(BindShapes, FixedDimsStayAndMayMatchGivenValues) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, "sequence", 8}));
  b.output(b.node1("Relu", {x}, "r"));
  passes::bind_shapes(b.g, opts(2, 3));
  EXPECT_EQ(ir::shape_to_string(b.g.values[x].shape), "[2,3,8]");
  // Not giving --batch for a fixed batch dim is fine too.
  GraphBuilder c;
  int y = c.input("y", DType::f32, shape({2, 5}));
  c.output(c.node1("Relu", {y}, "r"));
  passes::bind_shapes(c.g, opts(0, 0));
  EXPECT_EQ(ir::shape_to_string(c.g.values[y].shape), "[2,5]");
}

TEST(BindShapes, MissingValueNamesInputAxisSymbolAndFlag) {
  {
    GraphBuilder b = bert_like_inputs();
    EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(0, 7)),
                      {"model input 'input_ids'", "dim 0", "'batch'", "set batch"});
  }
  {
    GraphBuilder b = bert_like_inputs();
    EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, 0)),
                      {"model input 'input_ids'", "dim 1", "'sequence'", "set seq"});
  }
  {
    GraphBuilder b;
    int x = b.input("pixels", DType::f32, shape({"batch", 3, "height"}));
    b.output(b.node1("Relu", {x}, "r"));
    EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(1, 0, {{"width", 3}})),
                      {"model input 'pixels'", "dim 2", "'height'", "set dims['height']"});
  }
}

TEST(BindShapes, FixedDimConflict) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({1, "sequence"}));
  b.output(b.node1("Relu", {x}, "r"));
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(4, 3)),
                    {"model input 'x'", "fixed dim 0 of 1", "batch 4"});
  GraphBuilder c;
  int y = c.input("y", DType::f32, shape({"batch", 128}));
  c.output(c.node1("Relu", {y}, "r"));
  EXPECT_KILN_ERROR(passes::bind_shapes(c.g, opts(1, 64)), {"fixed dim 1 of 128", "seq 64"});
}

TEST(BindShapes, ExtraInputWithFixedAxis1DoesNotConflictWithSeq) {
  // --seq binds input_ids' symbolic axis 1; another input's fixed axis 1 (3 features) is left alone.
  GraphBuilder b;
  int ids = b.input("input_ids", DType::i64, shape({"batch", "sequence"}));
  int feats = b.input("features", DType::f32, shape({"batch", 3}));
  b.output(b.node1("Identity", {ids}, "a"));
  b.output(b.node1("Relu", {feats}, "f"));
  passes::bind_shapes(b.g, opts(2, 9));
  EXPECT_EQ(ir::shape_to_string(b.g.values[ids].shape), "[2,9]");
  EXPECT_EQ(ir::shape_to_string(b.g.values[feats].shape), "[2,3]");
}

TEST(BindShapes, UnknownDimNameIsAnError) {
  GraphBuilder b = bert_like_inputs();
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, 7, {{"seqlen", 7}})),
                    {"dims['seqlen'] = 7", "no dynamic dim named 'seqlen'", "'batch', 'sequence'"});
}

TEST(BindShapes, ConflictingValuesForOneSymbol) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"n", "n"}));
  b.output(b.node1("Relu", {x}, "r"));
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, 3)), {"dynamic dim 'n'", "2 from batch", "3 from seq"});
  GraphBuilder c;
  int y = c.input("y", DType::f32, shape({"batch", "s"}));
  c.output(c.node1("Relu", {y}, "r"));
  EXPECT_KILN_ERROR(passes::bind_shapes(c.g, opts(2, 3, {{"batch", 5}})), {"'batch'", "5 from dims['batch']", "batch"});
}

TEST(BindShapes, NonPositiveValues) {
  GraphBuilder b = bert_like_inputs();
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(-1, 7)), {"batch and seq must be positive"});
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, -3)), {"must be positive"});
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, 7, {{"feat", 0}})), {"dims['feat'] = 0", "must be positive"});
  EXPECT_KILN_ERROR(passes::bind_shapes(b.g, opts(2, 7, {{"feat", -2}})), {"dims['feat'] = -2"});
}

}  // namespace
}  // namespace kiln::test
