// The pass-test helper (graph_text.h) itself: what EXPECT_PASS accepts and what it reports.
#include <gtest/gtest-spi.h>

#include "graph_text.h"

namespace kiln::test {
namespace {

size_t no_change(ir::Graph&) { return 0; }

TEST(GraphText, LayoutAndConstantOrderOfTheExpectedTextDoNotMatter) {
  EXPECT_PASS(no_change, R"(
    graph main(%x: f32[2]) {
      const %c: f32[2] = [1, 2]
      const %d: f32[2] = fill(3)
      %y: f32[2] = Add(%x, %d)
      %z: f32[2] = Add(%y, %c)
      return %z
    })", "graph main(%x:f32[2]){const %d:f32[2]=[3,3] %y:f32[2]=Add(%x,%d)@y const %c:f32[2]=[1,2] %z:f32[2]=Add(%y,%c) return %z}");
}

TEST(GraphText, DifferencesAreReportedWithTheLine) {
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { %y: f32[2] = Relu(%x) return %y }",
                                      "graph main(%x: f32[2]) { %y: f32[2] = Sigmoid(%x) return %y }"),
                          "line 2, column 16:\n  got:        %y: f32[2] = Relu(%x)\n  expected:   %y: f32[2] = Sigmoid(%x)");
  // Node names are compared ...
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { %y: f32[2] = Relu(%x) return %y }",
                                      "graph main(%x: f32[2]) { %y: f32[2] = Relu(%x) @relu return %y }"),
                          "@relu");
  // ... and every value of every constant, unless kLargeConstantsByType.
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[9]) { const %w: f32[9] = random(1) %y: f32[9] = Add(%x, %w) return %y }",
                                      "graph main(%x: f32[9]) { const %w: f32[9] = random(2) %y: f32[9] = Add(%x, %w) return %y }"),
                          "const %w: f32[9] = [");
  EXPECT_PASS(no_change, "graph main(%x: f32[9]) { const %w: f32[9] = random(1) %y: f32[9] = Add(%x, %w) return %y }",
              "graph main(%x: f32[9]) { const %w: f32[9] = <9 values> %y: f32[9] = Add(%x, %w) return %y }", kLargeConstantsByType);
  // Small constants are compared in that mode too.
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { const %w: f32[2] = [1, 2] %y: f32[2] = Add(%x, %w) return %y }",
                                      "graph main(%x: f32[2]) { const %w: f32[2] = [1, 3] %y: f32[2] = Add(%x, %w) return %y }",
                                      kLargeConstantsByType),
                          "const %w: f32[2] = [1, 3]");
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { return %x }",
                                      "graph main(%x: f32[2]) { const %w: f32[9] = <9 values> return %x }"),
                          "a summarised constant");
}

TEST(GraphText, TheBeforeGraphMustBeTypedAsTheShapeRulesTypeIt) {
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2,3]) { %y: f32[3,2] = Relu(%x) return %y }",
                                      "graph main(%x: f32[2,3]) { %y: f32[3,2] = Relu(%x) return %y }"),
                          "not typed as the shape rules type it, at line 2, column 11:\n  got:        %y: f32[3,2] = Relu(%x)\n"
                          "  expected:   %y: f32[2,3] = Relu(%x)");
  EXPECT_PASS(no_change, "graph main(%x: f32[2,3]) { %y: f32[3,2] = Relu(%x) return %y }",
              "graph main(%x: f32[2,3]) { %y: f32[3,2] = Relu(%x) return %y }", kUntypedBefore);
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { return %y }", "graph main() { return }"),
                          "the before graph does not read: IR text line 1, column 34: %y is not defined");
  EXPECT_NONFATAL_FAILURE(EXPECT_PASS(no_change, "graph main(%x: f32[2]) { return }", "graph main() { return }"),
                          "the before graph is not valid: IR verifier: graph has no outputs");
}

TEST(GraphText, ThenDceRemovesWhatThePassLeft) {
  PassRun r = EXPECT_PASS(then_dce(no_change), "graph main(%x: f32[2]) { %y: f32[2] = Relu(%x) return %x }",
                          "graph main(%x: f32[2]) { return %x }");
  EXPECT_EQ(r.count, 0u);
  EXPECT_EQ(r.before.nodes.size(), 1u);
}

}  // namespace
}  // namespace kiln::test
