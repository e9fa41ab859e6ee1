// Allocations in a steady-state Session::run(inputs, outputs), counted with a replacement of the global
// operator new for this test binary. Kiln's own code (session, arena, our kernels) allocates nothing per
// run. oneDNN 2.6's dnnl_primitive_execute builds a small argument map inside on every call (seen with a
// backtrace here), so a model with oneDNN steps allocates a fixed number of small blocks per run: the
// test pins that it is the same every run (no growth) and no more than a few per oneDNN call.
#include <atomic>
#include <cstdlib>
#include <new>

#include "artifact/artifact.h"
#include "kiln/session.h"
#include "passes/passes.h"
#include "planner/build_plan.h"
#include "test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace


// AddressSanitizer owns operator new/delete; under it these tests skip (see kCounting).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCounting = false;
#else
constexpr bool kCounting = true;
// GCC cannot see that these deletes pair with the malloc-based news below.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);

  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace kiln::test {
namespace {

// A one-layer encoder block: projections, attention, GELU FFN, residuals, LayerNorms.
void compile_block(const std::string& path) {
  const int64_t B = 2, S = 9, H = 2, D = 4, HD = H * D;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", "seq", HD}));
  int mask = b.input("mask", DType::f32, shape({"batch", 1, 1, "seq"}));
  uint64_t seed = 500;
  auto linear = [&](int in, int64_t k, int64_t n, const std::string& name) {
    int mm = b.node1("MatMul", {in, b.constant(name + "_w", random_f32({k, n}, seed++))}, name + "_mm");
    return b.node1("Add", {mm, b.constant(name + "_b", random_f32({n}, seed++))}, name);
  };
  int q = linear(x, HD, HD, "q"), k = linear(x, HD, HD, "k"), v = linear(x, HD, HD, "v");
  int split = b.constant("split", tensor<int64_t>({4}, {0, 0, H, D}));
  int merge = b.constant("merge", tensor<int64_t>({3}, {0, 0, HD}));
  int qt = b.node1("Transpose", {b.node1("Reshape", {q, split}, "qr")}, "qt", Attr().ints("perm", {0, 2, 1, 3}));
  int kt = b.node1("Transpose", {b.node1("Reshape", {k, split}, "kr")}, "kt", Attr().ints("perm", {0, 2, 3, 1}));
  int vt = b.node1("Transpose", {b.node1("Reshape", {v, split}, "vr")}, "vt", Attr().ints("perm", {0, 2, 1, 3}));
  int sc = b.node1("Div", {b.node1("MatMul", {qt, kt}, "s"), b.constant("c", scalar<float>(2.f))}, "sc");
  int p = b.node1("Softmax", {b.node1("Add", {sc, mask}, "sm")}, "p", Attr().i("axis", -1));
  int ctx = b.node1("Reshape", {b.node1("Transpose", {b.node1("MatMul", {p, vt}, "o")}, "ot", Attr().ints("perm", {0, 2, 1, 3})), merge}, "ctx");
  auto ln = [&](int in, const std::string& name) {
    return b.node1("LayerNormalization", {in, b.constant(name + "_g", random_f32({HD}, seed++)), b.constant(name + "_b", random_f32({HD}, seed++))},
                   name, Attr().i("axis", -1).f("epsilon", 1e-12));
  };
  int h1 = ln(b.node1("Add", {linear(ctx, HD, HD, "out"), x}, "res1"), "ln1");
  int ff = b.node1("Gelu", {linear(h1, HD, 3 * HD, "ff1")}, "gelu");
  b.output(ln(b.node1("Add", {linear(ff, 3 * HD, HD, "ff2"), h1}, "res2"), "ln2"));
  CompileOptions o;
  o.batch = B;
  o.seq = S;
  passes::run_passes(b.g, o);
  std::string weights;
  plan::Plan plan = planner::build_plan(b.g, weights);
  nlohmann::json meta = {{"options", {{"batch", o.batch}, {"seq", o.seq}}}};
  artifact::write_artifact(path, meta, plan, weights);
}

long allocations_per_run(Session& session, const std::vector<NamedTensor>& inputs, int runs) {
  if (!kCounting) return 0;
  std::vector<NamedTensor> outputs;
  session.run(inputs, outputs);  // first call: output buffers are made
  const long before = g_allocations.load();
  for (int i = 0; i < runs; ++i) session.run(inputs, outputs);
  return (g_allocations.load() - before) / runs;
}

TEST(SessionAllocations, OwnKernelsAllocateNothing) {
  if (!kCounting) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  if (kernels::active_isa() < kernels::Isa::avx2) GTEST_SKIP() << "the reference tier allocates scratch vectors";
  // Steps with fast kernels of ours only: Add, Gelu, Mul, Softmax (last axis), LayerNormalization.
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", "seq", 16}));
  int y = b.input("y", DType::f32, shape({"batch", "seq", 16}));
  int a = b.node1("Add", {x, y}, "a");
  int g = b.node1("Gelu", {a}, "g");
  int m = b.node1("Mul", {g, y}, "m");
  int s = b.node1("Softmax", {m}, "s", Attr().i("axis", -1));
  b.output(b.node1("LayerNormalization", {s, b.constant("gamma", random_f32({16}, 700)), b.constant("beta", random_f32({16}, 701))},
                   "out", Attr().i("axis", -1)));
  CompileOptions o;
  o.batch = 2;
  o.seq = 5;
  passes::run_passes(b.g, o);
  std::string weights;
  plan::Plan plan = planner::build_plan(b.g, weights);
  TempDir dir;
  artifact::write_artifact(dir.file("ew.kiln"), {{"options", {{"batch", 2}, {"seq", 5}}}}, plan, weights);
  Session session(dir.file("ew.kiln"));
  EXPECT_EQ(allocations_per_run(session, {{"x", random_f32({2, 5, 16}, 702)}, {"y", random_f32({2, 5, 16}, 703)}}, 5), 0);
}

TEST(SessionAllocations, OneDnnStepsAllocateAFixedSmallAmount) {
  if (!kCounting) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  TempDir dir;
  compile_block(dir.file("block.kiln"));
  Session session(dir.file("block.kiln"));
  Tensor mask = tensor<float>({2, 1, 1, 9}, {0, 0, 0, 0, 0, 0, -10000, -10000, -10000, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const std::vector<NamedTensor> inputs = {{"x", random_f32({2, 9, 8}, 600)}, {"mask", mask}};
  const long first = allocations_per_run(session, inputs, 3);
  const long second = allocations_per_run(session, inputs, 3);
  EXPECT_EQ(first, second) << "allocations per run must not grow";
  // 4 FusedMatMul + 2 batch elements x 3 attention primitives = 10 oneDNN calls per run.
  EXPECT_LE(first, 10 * 8) << "more than the oneDNN argument maps";
}

}  // namespace
}  // namespace kiln::test
