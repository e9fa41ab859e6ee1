// Planner: lifetime-based arena placement (no overlap, reuse, alignment) and build_plan layout.
#include <cstring>

#include "passes/passes.h"
#include "planner/build_plan.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using planner::Lifetime;

bool lifetimes_overlap(const Lifetime& a, const Lifetime& b) { return a.first <= b.last && b.first <= a.last; }
bool memory_overlaps(const Lifetime& a, const Lifetime& b) {
  if (a.bytes == 0 || b.bytes == 0) return false;
  return a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

// Every pair alive at the same time is disjoint in memory; everything is 64-aligned and inside the arena.
::testing::AssertionResult valid_placement(const std::vector<Lifetime>& lt, uint64_t arena) {
  for (size_t i = 0; i < lt.size(); ++i) {
    if (lt[i].offset % plan::kAlignment != 0)
      return ::testing::AssertionFailure() << "tensor " << i << " at unaligned offset " << lt[i].offset;
    if (lt[i].offset + lt[i].bytes > arena)
      return ::testing::AssertionFailure() << "tensor " << i << " ends at " << lt[i].offset + lt[i].bytes
                                           << " past the arena of " << arena;
    for (size_t j = i + 1; j < lt.size(); ++j)
      if (lifetimes_overlap(lt[i], lt[j]) && memory_overlaps(lt[i], lt[j]))
        return ::testing::AssertionFailure()
               << "tensors " << i << " [" << lt[i].first << "," << lt[i].last << "] @" << lt[i].offset << "+"
               << lt[i].bytes << " and " << j << " [" << lt[j].first << "," << lt[j].last << "] @" << lt[j].offset
               << "+" << lt[j].bytes << " are alive together and overlap";
  }
  return ::testing::AssertionSuccess();
}

TEST(PlaceLifetimes, RandomLifetimesNeverOverlapInMemory) {
  uint64_t s = 12345;
  auto next = [&s](uint64_t mod) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % mod;
  };
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Lifetime> lt(150);
    uint64_t sum = 0;
    for (Lifetime& l : lt) {
      l.first = static_cast<int>(next(60));
      l.last = l.first + static_cast<int>(next(8));
      l.bytes = 1 + next(5000);
      sum += plan::align_up(l.bytes);
    }
    const uint64_t arena = planner::place_lifetimes(lt);
    ASSERT_TRUE(valid_placement(lt, arena)) << "trial " << trial;
    EXPECT_LT(arena, sum) << "short lifetimes over 60 steps must share memory";
  }
}

TEST(PlaceLifetimes, ChainReusesTwoSlots) {
  // Tensor i lives over steps [i, i+1] (produced by step i, read by step i+1): only neighbours overlap.
  std::vector<Lifetime> lt;
  for (int i = 0; i < 10; ++i) lt.push_back({i, i + 1, 100, 0});
  const uint64_t arena = planner::place_lifetimes(lt);
  EXPECT_TRUE(valid_placement(lt, arena));
  EXPECT_EQ(arena, 2 * plan::align_up(100));
  EXPECT_LT(arena, 10 * plan::align_up(100));
}

TEST(PlaceLifetimes, DisjointLifetimesShareOffsetZero) {
  std::vector<Lifetime> lt = {{0, 0, 256, 7}, {1, 1, 64, 7}, {2, 3, 200, 7}};
  EXPECT_EQ(planner::place_lifetimes(lt), 256u);
  for (const Lifetime& l : lt) EXPECT_EQ(l.offset, 0u);
}

TEST(PlaceLifetimes, AlignmentOfTinyTensors) {
  std::vector<Lifetime> lt = {{0, 5, 1, 0}, {0, 5, 1, 0}, {0, 5, 65, 0}};
  const uint64_t arena = planner::place_lifetimes(lt);
  EXPECT_TRUE(valid_placement(lt, arena));
  EXPECT_EQ(arena, 128u + 64u + 64u);  // 65 bytes take two 64-byte units, each 1-byte tensor one
  EXPECT_EQ(plan::align_up(0), 0u);
  EXPECT_EQ(plan::align_up(1), 64u);
  EXPECT_EQ(plan::align_up(64), 64u);
  EXPECT_EQ(plan::align_up(65), 128u);
}

TEST(PlaceLifetimes, FillsGapBetweenBusyBlocks) {
  // A (0..128) and C (256..384) are alive with B; B (64 bytes) fits in the free hole at 128.
  std::vector<Lifetime> lt = {{0, 4, 128, 0}, {0, 1, 128, 0}, {0, 4, 128, 0}, {2, 4, 64, 0}};
  const uint64_t arena = planner::place_lifetimes(lt);
  EXPECT_TRUE(valid_placement(lt, arena));
  EXPECT_EQ(lt[3].offset, 128u);  // reuses tensor 1's slot once it is dead
  EXPECT_EQ(arena, 384u);
}

// x: f32[2,3] -> a = Add(x, w1) -> b = Exp(a) -> c = Neg(b) -> d = Where(flag, c, a) (graph output)
struct PlannedChain {
  GraphBuilder b;
  plan::Plan plan;
  std::string weights;
};
PlannedChain planned_chain() {
  PlannedChain p;
  GraphBuilder& b = p.b;
  int x = b.input("x", DType::f32, shape({2, 3}));
  int w1 = b.constant("w1", tensor<float>({3}, {1, 2, 3}));
  int w2 = b.constant("w2", tensor<int64_t>({5}, {10, 20, 30, 40, 50}));
  int flag = b.constant("flag", tensor<bool>({3}, {true, false, true}));
  int a = b.node1("Add", {x, w1}, "a");
  int e = b.node1("Exp", {a}, "e");
  int c = b.node1("Neg", {e}, "c");
  int d = b.node1("Where", {flag, c, a}, "d");
  int g = b.node1("Gather", {x, w2}, "g", Attr().i("axis", 1));  // indices w2 are never run here
  b.output(d);
  b.output(g);
  for (size_t i = 0; i < b.g.nodes.size(); ++i) ops::infer_node(b.g, static_cast<int>(i));
  (void)x;
  p.plan = planner::build_plan(b.g, p.weights);
  return p;
}

TEST(BuildPlan, TensorsKindsAndWeightsLayout) {
  PlannedChain p = planned_chain();
  const plan::Plan& plan = p.plan;
  ASSERT_EQ(plan.tensors.size(), p.b.g.values.size());
  auto t = [&](const std::string& name) -> const plan::PlanTensor& {
    return plan.tensors.at(p.b.g.find_value(name));
  };
  EXPECT_EQ(t("x").kind, plan::TensorKind::input);
  EXPECT_EQ(t("a").kind, plan::TensorKind::activation);
  EXPECT_EQ(t("w1").kind, plan::TensorKind::constant);
  EXPECT_EQ(t("x").dims, (Dims{2, 3}));
  EXPECT_EQ(t("x").bytes, 24u);
  EXPECT_EQ(t("w2").bytes, 40u);
  EXPECT_EQ(t("flag").bytes, 3u);
  EXPECT_EQ(t("g").dims, (Dims{2, 5}));
  // Constants in value order, each at a 64-aligned offset of the weights blob.
  EXPECT_EQ(t("w1").offset, 0u);
  EXPECT_EQ(t("w2").offset, 64u);
  EXPECT_EQ(t("flag").offset, 128u);
  EXPECT_EQ(plan.weight_bytes, 192u);
  ASSERT_EQ(p.weights.size(), 192u);
  EXPECT_EQ(std::memcmp(p.weights.data() + 0, p.b.g.values[p.b.g.find_value("w1")].constant->data(), 12), 0);
  EXPECT_EQ(std::memcmp(p.weights.data() + 64, p.b.g.values[p.b.g.find_value("w2")].constant->data(), 40), 0);
  EXPECT_EQ(std::memcmp(p.weights.data() + 128, "\x01\x00\x01", 3), 0);
  for (size_t i = 12; i < 64; ++i) EXPECT_EQ(p.weights[i], '\0') << "padding byte " << i;
}

TEST(BuildPlan, ArenaOffsetsRespectLifetimes) {
  PlannedChain p = planned_chain();
  const plan::Plan& plan = p.plan;
  const int n = static_cast<int>(plan.steps.size());
  // Recompute lifetimes from the plan: inputs live from before step 0, outputs until after the last.
  std::vector<Lifetime> lt;
  for (size_t v = 0; v < plan.tensors.size(); ++v) {
    const plan::PlanTensor& t = plan.tensors[v];
    if (t.kind == plan::TensorKind::constant) continue;
    int first = n, last = -1;
    for (int s = 0; s < n; ++s) {
      const plan::PlanStep& st = plan.steps[s];
      // An in-place step (output 0 placed over input 0) consumes its input as it writes: the input's
      // life ends just before that step.
      const bool in_place = !st.inputs.empty() && st.inputs[0] == static_cast<int>(v) &&
                            plan.tensors[st.outputs[0]].offset == t.offset;
      for (int in : st.inputs)
        if (in == static_cast<int>(v)) last = std::max(last, in_place ? s - 1 : s);
      for (int out : plan.steps[s].outputs)
        if (out == static_cast<int>(v)) first = std::min(first, s);
    }
    if (t.kind == plan::TensorKind::input) first = -1;
    for (int o : plan.outputs)
      if (o == static_cast<int>(v)) last = n;
    lt.push_back({first, std::max(first, last), t.bytes, t.offset});
  }
  EXPECT_TRUE(valid_placement(lt, plan.arena_bytes));
  uint64_t sum = 0;
  for (const Lifetime& l : lt) sum += plan::align_up(l.bytes);
  EXPECT_LT(plan.arena_bytes, sum) << "e is dead after Neg; later tensors can reuse its memory";
}

TEST(BuildPlan, StepsCarryOpNameDtypeAndAttrs) {
  PlannedChain p = planned_chain();
  const plan::Plan& plan = p.plan;
  ASSERT_EQ(plan.steps.size(), 5u);
  EXPECT_EQ(plan.steps[0].op, "Add");
  EXPECT_EQ(plan.steps[0].name, "a");
  EXPECT_EQ(plan.steps[0].inputs, (std::vector<int>{p.b.g.find_value("x"), p.b.g.find_value("w1")}));
  EXPECT_EQ(plan.steps[0].outputs, (std::vector<int>{p.b.g.find_value("a")}));
  EXPECT_EQ(plan.steps[3].op, "Where");
  EXPECT_EQ(plan.steps[3].dtype, DType::f32);  // keyed on the values, not the bool condition
  EXPECT_EQ(plan.steps[4].attrs.get_int("axis"), 1);
  EXPECT_EQ(plan.inputs, (std::vector<int>{p.b.g.find_value("x")}));
  EXPECT_EQ(plan.outputs, (std::vector<int>{p.b.g.find_value("d"), p.b.g.find_value("g")}));
}

TEST(BuildPlan, Deterministic) {
  PlannedChain p1 = planned_chain();
  PlannedChain p2 = planned_chain();
  EXPECT_EQ(p1.weights, p2.weights);
  ASSERT_EQ(p1.plan.tensors.size(), p2.plan.tensors.size());
  for (size_t i = 0; i < p1.plan.tensors.size(); ++i) EXPECT_EQ(p1.plan.tensors[i].offset, p2.plan.tensors[i].offset);
  EXPECT_EQ(p1.plan.arena_bytes, p2.plan.arena_bytes);
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

TEST(PlannerInPlace, ElementwiseChainReusesItsInputsMemory) {
  // x -> Relu -> Sqrt -> Add(., y): each result can overwrite its dying first input; MatMul cannot.
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({4, 8}));
  int y = b.input("y", DType::f32, shape({4, 8}));
  int m = b.node1("MatMul", {x, b.constant("w", random_f32({8, 8}, 40))}, "m");
  int r = b.node1("Relu", {m}, "r");
  int s = b.node1("Sqrt", {r}, "s");
  b.output(b.node1("Add", {s, y}, "out"));
  passes::fold_constants(b.g);
  std::string weights;
  plan::Plan p = planner::build_plan(b.g, weights);
  auto offset = [&](const char* name) { return p.tensors[b.g.find_value(name)].offset; };
  EXPECT_EQ(offset("r"), offset("m"));
  EXPECT_EQ(offset("s"), offset("m"));
  EXPECT_EQ(offset("out"), offset("m"));
  EXPECT_NE(offset("m"), offset("x"));  // MatMul is not elementwise
  EXPECT_NE(offset("y"), offset("m"));  // y is alive while the chain runs
}

TEST(PlannerInPlace, InputStillReadLaterIsNotOverwritten) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 3}));
  int e = b.node1("Exp", {x}, "e");
  int r = b.node1("Relu", {e}, "r");
  b.output(b.node1("Add", {r, e}, "out"));  // e is read again after Relu
  passes::fold_constants(b.g);
  std::string weights;
  plan::Plan p = planner::build_plan(b.g, weights);
  EXPECT_NE(p.tensors[b.g.find_value("r")].offset, p.tensors[b.g.find_value("e")].offset);
}

}  // namespace
}  // namespace kiln::test
