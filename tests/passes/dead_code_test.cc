// passes::eliminate_dead_code IR-to-IR: unused nodes removed transitively, values compacted, count.
#include "graph_text.h"

namespace kiln::test {
namespace {

TEST(DeadCode, UnusedBranchRemovedWithCount) {
  PassRun r = EXPECT_PASS(passes::eliminate_dead_code, R"(
    graph main(%x: f32[2]) {
      const %w: f32[2] = [1, 2]
      %a: f32[2] = Relu(%x)
      %e: f32[2] = Exp(%x)      # dead
      %n: f32[2] = Add(%e, %w)  # dead, the only reader of %w
      %nn: f32[2] = Neg(%n)     # dead
      %out: f32[2] = Sigmoid(%a)
      return %out
    })", R"(
    graph main(%x: f32[2]) {
      %a: f32[2] = Relu(%x)
      %out: f32[2] = Sigmoid(%a)
      return %out
    })");
  EXPECT_EQ(r.count, 3u);
  EXPECT_EQ(r.after.find_value("w"), -1);  // the constant only the dead branch read is gone
  EXPECT_EQ(r.after.values.size(), 3u);
}

TEST(DeadCode, NothingDeadIsANoop) {
  const char* graph = R"(
    graph main(%x: f32[2]) {
      %r: f32[2] = Relu(%x)
      return %r
    })";
  EXPECT_EQ(EXPECT_PASS(passes::eliminate_dead_code, graph, graph).count, 0u);
}

TEST(DeadCode, PartlyLiveMultiOutputNodeAndUnusedInputsStay) {
  PassRun r = EXPECT_PASS(passes::eliminate_dead_code, R"(
    graph main(%x: f32[2,4], %unused: i64[3]) {
      const %scale: f32[4] = [1, 1, 1, 1]
      %y: f32[2,4], %mean: f32[2,1], %inv: f32[2,1] = LayerNormalization(%x, %scale)
      %dead: f32[2,1] = Relu(%inv)
      return %y
    })", R"(
    graph main(%x: f32[2,4], %unused: i64[3]) {
      const %scale: f32[4] = [1, 1, 1, 1]
      %y: f32[2,4], %mean: f32[2,1], %inv: f32[2,1] = LayerNormalization(%x, %scale)
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  EXPECT_NE(r.after.find_value("unused"), -1);
}

}  // namespace
}  // namespace kiln::test
