// Pass tests stated as whole graphs in the IR text form (src/ir/text_format.h, docs/testing.md):
//
//   PassRun r = EXPECT_PASS(passes::eliminate_noops, R"(
//     graph main(%x: f32[2]) {
//       %a: f32[2] = Identity(%x)
//       %y: f32[2] = Relu(%a)
//       return %y
//     })", R"(
//     graph main(%x: f32[2]) {
//       %y: f32[2] = Relu(%x)
//       return %y
//     })");
//   EXPECT_EQ(r.count, 1u);
//
// EXPECT_PASS(pass, before, after[, flags]) reads `before`, checks it (below), runs `pass` (any callable
// taking ir::Graph& and returning the pass's count), checks the result with ir::verify and compares it
// with `after`: both are printed canonically with every value (TextOptions::exact()) and the texts must
// be equal. So the comparison is strict about everything a pass decides -- the graph's inputs and
// outputs, every node in order with its op, domain, attributes, operands, node name ('@'), its outputs'
// names, dtypes and shapes, and every constant a node or output reads, bit for bit -- and blind only to
// what no pass result depends on: value indices (the text names values), values nothing refers to any
// more (compact() or not), the order constants were created in (printed at first use), and layout of
// the expected text (spacing, comments, where its constants are stated). Dead nodes are not removed: a
// fusion pass leaves the nodes it replaced to eliminate_dead_code, so its test runs then_dce(pass).
//
// The before graph must be typed as the ops' shape rules type it (ops::infer_node, when its shapes are
// static), so a test cannot start from a graph the pipeline would never produce; kUntypedBefore lifts
// that for tests of inference itself. kLargeConstantsByType compares constants of more than 8 elements
// by dtype and shape only, for passes whose new weights cannot be stated in the text (int8 quantised,
// concatenated); `after` then states them as the summary dump does, `<N values>`, and the test checks
// the numbers separately (expect_computes_the_same).
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <string_view>

#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {

struct PassRun {
  ir::Graph before;  // as read
  ir::Graph after;   // after the pass
  size_t count = 0;  // what the pass returned
};

enum PassCheckFlags : unsigned {
  kStrict = 0,
  kUntypedBefore = 1,          // the before graph's types are not checked against the shape rules
  kLargeConstantsByType = 2,   // constants of more than 8 elements compared by dtype and shape only
};

// `pass` then eliminate_dead_code; returns the pass's count.
template <typename Pass>
std::function<size_t(ir::Graph&)> then_dce(Pass pass) {
  return [pass](ir::Graph& g) {
    const size_t n = pass(g);
    passes::eliminate_dead_code(g);
    return n;
  };
}

namespace detail {

// "line N" of two texts that differ, with both lines (long lines cut around the first difference).
inline std::string first_difference(const std::string& got, const std::string& want) {
  std::istringstream a(got), b(want);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "";
    if (!ha) la = "(end of graph)";
    if (!hb) lb = "(end of graph)";
    if (la == lb) continue;
    size_t col = 0;
    while (col < la.size() && col < lb.size() && la[col] == lb[col]) ++col;
    auto cut = [&](const std::string& s) {
      const size_t from = col > 80 ? col - 80 : 0;
      std::string out = (from ? "..." : "") + s.substr(from, 200);
      return from + 200 < s.size() ? out + "..." : out;
    };
    return str("line ", line, ", column ", col + 1, ":\n  got:      ", cut(la), "\n  expected: ", cut(lb));
  }
}

inline bool all_static(const ir::Graph& g) {
  for (const ir::Value& v : g.values)
    if (!ir::is_static(v.shape)) return false;
  return true;
}

}  // namespace detail

inline PassRun expect_pass_at(const char* file, int line, const std::function<size_t(ir::Graph&)>& pass,
                              std::string_view before, std::string_view after, unsigned flags = kStrict) {
  PassRun r;
  try {
    r.before = ir::parse_graph(before);
  } catch (const Error& e) {
    ADD_FAILURE_AT(file, line) << "the before graph does not read: " << e.what();
    return r;
  }
  const ir::TextOptions exact = ir::TextOptions::exact();
  try {
    ir::verify(r.before, false);
    if (!(flags & kUntypedBefore) && detail::all_static(r.before)) {
      ir::Graph inferred = r.before;
      for (size_t i = 0; i < inferred.nodes.size(); ++i) ops::infer_node(inferred, static_cast<int>(i));
      const std::string want = ir::to_text(inferred, exact), got = ir::to_text(r.before, exact);
      if (want != got)
        ADD_FAILURE_AT(file, line) << "the before graph is not typed as the shape rules type it, at "
                                   << detail::first_difference(got, want) << "\n(the shape rules give)\n"
                                   << ir::to_text(inferred);
    }
  } catch (const Error& e) {
    ADD_FAILURE_AT(file, line) << "the before graph is not valid: " << e.what();
    return r;
  }
  r.after = r.before;
  try {
    r.count = pass(r.after);
    ir::verify(r.after, false);
  } catch (const Error& e) {
    ADD_FAILURE_AT(file, line) << "the pass failed: " << e.what() << "\non\n" << ir::to_text(r.after);
    return r;
  }
  ir::TextOptions compare = exact;
  std::string after_text(after);
  if (flags & kLargeConstantsByType) {
    compare = ir::TextOptions();
    compare.fill = false;
    after_text = std::regex_replace(after_text, std::regex("<[0-9]+ values>"), "fill(0)");
  }
  ir::Graph expected;
  try {
    expected = ir::parse_graph(after_text);
  } catch (const Error& e) {
    const bool summary = std::string(e.what()).find("summarised") != std::string::npos;
    ADD_FAILURE_AT(file, line) << "the expected graph does not read: " << e.what()
                               << (summary ? " (kLargeConstantsByType compares large constants by type only)" : "");
    return r;
  }
  const std::string got = ir::to_text(r.after, compare), want = ir::to_text(expected, compare);
  if (got != want)
    ADD_FAILURE_AT(file, line) << "the graph after the pass is not the expected one, at " << detail::first_difference(got, want)
                               << "\nthe graph after the pass:\n" << ir::to_text(r.after) << "the expected graph:\n"
                               << ir::to_text(expected);
  return r;
}

// EXPECT_PASS(pass, before, after[, flags]) -> PassRun; failures report the caller's line.
#define EXPECT_PASS(...) ::kiln::test::expect_pass_at(__FILE__, __LINE__, __VA_ARGS__)

// The graphs before and after a pass compute the same outputs on `inputs` (reference kernels).
inline void expect_computes_the_same(const PassRun& r, const std::vector<Tensor>& inputs, Tolerance tol = kTolF32) {
  const std::vector<Tensor> want = run_graph(r.before, inputs);
  const std::vector<Tensor> got = run_graph(r.after, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_CLOSE(got[i], want[i], tol) << "output " << i;
}

}  // namespace kiln::test
