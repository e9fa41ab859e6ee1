// passes::eliminate_noops IR-to-IR: Identity/Dropout removed and rewired unless part of the interface.
#include "graph_text.h"

namespace kiln::test {
namespace {

TEST(EliminateNoops, IdentityAndDropoutRemovedConsumersRewired) {
  PassRun r = EXPECT_PASS(passes::eliminate_noops, R"(
    graph main(%x: f32[2,3]) {
      %a: f32[2,3] = Identity(%x)
      %d: f32[2,3] = Dropout<ratio=0.1>(%a)
      %r: f32[2,3] = Relu(%d)
      %s: f32[2,3] = Add(%r, %a)
      return %s
    })", R"(
    graph main(%x: f32[2,3]) {
      %r: f32[2,3] = Relu(%x)
      %s: f32[2,3] = Add(%r, %x)
      return %s
    })");
  EXPECT_EQ(r.count, 2u);
  // compact() dropped the removed values.
  EXPECT_EQ(r.after.find_value("a"), -1);
  EXPECT_EQ(r.after.find_value("d"), -1);
  EXPECT_EQ(r.after.values.size(), 3u);
}

TEST(EliminateNoops, NoopProducingGraphOutputStays) {
  const char* graph = R"(
    graph main(%x: f32[4]) {
      %r: f32[4] = Relu(%x)
      %logits: f32[4] = Identity(%r)
      return %logits
    })";
  EXPECT_EQ(EXPECT_PASS(passes::eliminate_noops, graph, graph).count, 0u);
}

TEST(EliminateNoops, DropoutWithReadMaskStaysUnreadMaskIsDropped) {
  PassRun r = EXPECT_PASS(passes::eliminate_noops, R"(
    graph main(%x: f32[3]) {
      %d1: f32[3], %mask1: bool[3] = Dropout(%x)
      %mf: f32[3] = Cast<to="f32">(%mask1)
      %d2: f32[3], %mask2: bool[3] = Dropout(%d1)
      %out: f32[3] = Mul(%d2, %mf)
      return %out
    })", R"(
    graph main(%x: f32[3]) {
      %d1: f32[3], %mask1: bool[3] = Dropout(%x)
      %mf: f32[3] = Cast<to="f32">(%mask1)
      %out: f32[3] = Mul(%d1, %mf)
      return %out
    })");
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.after.find_value("mask2"), -1);
}

TEST(EliminateNoops, DropoutWhoseMaskIsAGraphOutputStays) {
  const char* graph = R"(
    graph main(%x: f32[3]) {
      %d: f32[3], %mask: bool[3] = Dropout(%x)
      %r: f32[3] = Relu(%d)
      return %r, %mask
    })";
  EXPECT_EQ(EXPECT_PASS(passes::eliminate_noops, graph, graph).count, 0u);
}

TEST(EliminateNoops, ChainOfNoopsCollapses) {
  PassRun r = EXPECT_PASS(passes::eliminate_noops, R"(
    graph main(%x: i64[2]) {
      %a: i64[2] = Identity(%x)
      %c: i64[2] = Identity(%a)
      %d: i64[2] = Dropout(%c)
      %n: i64[2] = Neg(%d)
      return %n
    })", R"(
    graph main(%x: i64[2]) {
      %n: i64[2] = Neg(%x)
      return %n
    })");
  EXPECT_EQ(r.count, 3u);
}

}  // namespace
}  // namespace kiln::test
