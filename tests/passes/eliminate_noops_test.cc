// passes::eliminate_noops IR-to-IR: Identity/Dropout removed and rewired unless part of the interface.
#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TEST(EliminateNoops, IdentityAndDropoutRemovedConsumersRewired) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 3}));
  int a = b.node1("Identity", {x}, "a");
  int d = b.node1("Dropout", {a}, "d", Attr().f("ratio", 0.1));
  int r = b.node1("Relu", {d}, "r");
  int s = b.node1("Add", {r, a}, "s");
  b.output(s);
  passes::fold_constants(b.g);  // infers types; folds nothing
  EXPECT_EQ(passes::eliminate_noops(b.g), 2u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[2,3]) {\n"
            "  %r: f32[2,3] = Relu(%x)\n"
            "  %s: f32[2,3] = Add(%r, %x)\n"
            "  return %s\n"
            "}\n");
  EXPECT_NO_THROW(ir::verify(b.g, true));
  // compact() dropped the removed values.
  EXPECT_EQ(b.g.find_value("a"), -1);
  EXPECT_EQ(b.g.find_value("d"), -1);
  EXPECT_EQ(b.g.values.size(), 3u);
}

TEST(EliminateNoops, NoopProducingGraphOutputStays) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({4}));
  int r = b.node1("Relu", {x}, "r");
  b.output(b.node1("Identity", {r}, "logits"));
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_noops(b.g), 0u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[4]) {\n"
            "  %r: f32[4] = Relu(%x)\n"
            "  %logits: f32[4] = Identity(%r)\n"
            "  return %logits\n"
            "}\n");
}

TEST(EliminateNoops, DropoutWithReadMaskStaysUnreadMaskIsDropped) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3}));
  std::vector<int> kept = b.node("Dropout", {x}, {"d1", "mask1"});
  int masked = b.node1("Cast", {kept[1]}, "mf", Attr().s("to", "f32"));
  std::vector<int> gone = b.node("Dropout", {kept[0]}, {"d2", "mask2"});
  b.output(b.node1("Mul", {gone[0], masked}, "out"));
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_noops(b.g), 1u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[3]) {\n"
            "  %d1: f32[3], %mask1: bool[3] = Dropout(%x)\n"
            "  %mf: f32[3] = Cast<to=\"f32\">(%mask1)\n"
            "  %out: f32[3] = Mul(%d1, %mf)\n"
            "  return %out\n"
            "}\n");
  EXPECT_EQ(b.g.find_value("mask2"), -1);
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(EliminateNoops, DropoutWhoseMaskIsAGraphOutputStays) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3}));
  std::vector<int> d = b.node("Dropout", {x}, {"d", "mask"});
  b.output(b.node1("Relu", {d[0]}, "r"));
  b.output(d[1]);
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_noops(b.g), 0u);
  EXPECT_NO_THROW(ir::verify(b.g, true));
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[3]) {\n"
            "  %d: f32[3], %mask: bool[3] = Dropout(%x)\n"
            "  %r: f32[3] = Relu(%d)\n"
            "  return %r, %mask\n"
            "}\n");
}

TEST(EliminateNoops, ChainOfNoopsCollapses) {
  GraphBuilder b;
  int x = b.input("x", DType::i64, shape({2}));
  int a = b.node1("Identity", {x}, "a");
  int c = b.node1("Identity", {a}, "c");
  int d = b.node1("Dropout", {c}, "d");
  b.output(b.node1("Neg", {d}, "n"));
  passes::fold_constants(b.g);
  EXPECT_EQ(passes::eliminate_noops(b.g), 3u);
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: i64[2]) {\n"
            "  %n: i64[2] = Neg(%x)\n"
            "  return %n\n"
            "}\n");
}

}  // namespace
}  // namespace kiln::test
