// kiln::Session on a C++-built graph: correct outputs and input-validation errors naming the input.
#include <functional>

#include "artifact/artifact.h"
#include "kiln/session.h"
#include "passes/passes.h"
#include "planner/build_plan.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// x: f32[batch, 3], ids: i64[batch]
//   y     = MatMul(x, w) + Gather(table, ids)      f32[batch, 2]
//   total = ReduceSum(ids, keepdims=0)             i64[]
void compile_tiny(const std::string& path, int64_t batch) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 3}));
  int ids = b.input("ids", DType::i64, shape({"batch"}));
  int w = b.constant("w", tensor<float>({3, 2}, {1, 0, 0, 1, 1, 1}));
  int table = b.constant("table", tensor<float>({4, 2}, {0, 0, 10, 20, 30, 40, 50, 60}));
  int h = b.node1("MatMul", {x, w}, "h");
  int e = b.node1("Gather", {table, ids}, "e", Attr().i("axis", 0));
  int dead = b.node1("Exp", {h}, "dead");
  (void)dead;
  b.output(b.node1("Add", {h, e}, "y"));
  b.output(b.node1("ReduceSum", {ids}, "total", Attr().i("keepdims", 0)));
  CompileOptions o;
  o.batch = batch;
  passes::run_passes(b.g, o);
  std::string weights;
  plan::Plan plan = planner::build_plan(b.g, weights);
  nlohmann::json meta = {{"options", {{"batch", o.batch}, {"seq", o.seq}}}};
  artifact::write_artifact(path, meta, plan, weights);
}

class SessionTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = dir.file("tiny.kiln");
  Tensor x = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor ids = tensor<int64_t>({2}, {3, 1});
  void SetUp() override { compile_tiny(path, 2); }
};

// numpy: x @ w = [[4,5],[10,11]]; table[[3,1]] = [[50,60],[10,20]]
const std::vector<double> kY = {54, 65, 20, 31};

TEST_F(SessionTest, RunGivesRightNumbers) {
  Session s(path);
  ASSERT_EQ(s.inputs().size(), 2u);
  EXPECT_EQ(s.inputs()[0].name, "x");
  EXPECT_EQ(s.inputs()[0].dtype, DType::f32);
  EXPECT_EQ(s.inputs()[0].dims, (Dims{2, 3}));
  EXPECT_EQ(s.inputs()[1].name, "ids");
  ASSERT_EQ(s.outputs().size(), 2u);
  EXPECT_EQ(s.outputs()[0].name, "y");
  EXPECT_EQ(s.outputs()[1].name, "total");

  std::vector<NamedTensor> out = s.run({{"x", x}, {"ids", ids}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "y");
  EXPECT_TENSOR(out[0].tensor, DType::f32, {2, 2}, kY, kTolF32);
  EXPECT_EQ(out[1].name, "total");
  EXPECT_TENSOR(out[1].tensor, DType::i64, {}, {4}, kTolExact);
}

TEST_F(SessionTest, InputOrderDoesNotMatterAndRunsRepeat) {
  Session s(path);
  std::vector<NamedTensor> a = s.run({{"ids", ids}, {"x", x}});
  Tensor other = tensor<float>({2, 3}, {0, 0, 0, 1, 1, 1});
  std::vector<NamedTensor> b = s.run({{"x", other}, {"ids", tensor<int64_t>({2}, {0, 2})}});
  std::vector<NamedTensor> c = s.run({{"x", x}, {"ids", ids}});
  EXPECT_TENSOR(a[0].tensor, DType::f32, {2, 2}, kY, kTolF32);
  EXPECT_TENSOR(b[0].tensor, DType::f32, {2, 2}, {0, 0, 32, 42}, kTolF32);
  EXPECT_CLOSE(c[0].tensor, a[0].tensor, kTolExact);
}

TEST_F(SessionTest, Int32AcceptedForInt64Input) {
  Session s(path);
  std::vector<NamedTensor> out = s.run({{"x", x}, {"ids", tensor<int32_t>({2}, {3, 1})}});
  EXPECT_TENSOR(out[0].tensor, DType::f32, {2, 2}, kY, kTolF32);
  EXPECT_TENSOR(out[1].tensor, DType::i64, {}, {4}, kTolExact);
}

TEST_F(SessionTest, WrongDtypeNamesInput) {
  Session s(path);
  EXPECT_KILN_ERROR(s.run({{"x", Tensor(DType::f64, {2, 3})}, {"ids", ids}}),
                    {"input 'x'", "dtype f64", "expected f32"});
  EXPECT_KILN_ERROR(s.run({{"x", x}, {"ids", tensor<float>({2}, {3, 1})}}),
                    {"input 'ids'", "dtype f32", "expected i64 (or i32)"});
  EXPECT_KILN_ERROR(s.run({{"x", tensor<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6})}, {"ids", ids}}),
                    {"input 'x'", "dtype i32", "expected f32"});
}

TEST_F(SessionTest, WrongShapeNamesInputAndCompileFlags) {
  Session s(path);
  EXPECT_KILN_ERROR(s.run({{"x", Tensor(DType::f32, {3, 3})}, {"ids", ids}}),
                    {"input 'x'", "shape [3,3]", "expected [2,3]", "compiled with batch 2"});
  EXPECT_KILN_ERROR(s.run({{"x", x}, {"ids", Tensor(DType::i64, {2, 1})}}), {"input 'ids'", "shape [2,1]"});
}

TEST_F(SessionTest, UnknownMissingAndDuplicateInputs) {
  Session s(path);
  EXPECT_KILN_ERROR(s.run({{"x", x}, {"ids", ids}, {"z", x}}), {"no input named 'z'", "x, ids"});
  EXPECT_KILN_ERROR(s.run({{"x", x}}), {"missing model input(s): ids"});
  EXPECT_KILN_ERROR(s.run({}), {"missing model input(s): x, ids"});
  EXPECT_KILN_ERROR(s.run({{"x", x}, {"ids", ids}, {"x", x}}), {"input 'x' is given more than once"});
}

TEST_F(SessionTest, KernelErrorNamesStepAndNode) {
  Session s(path);
  EXPECT_KILN_ERROR(s.run({{"x", x}, {"ids", tensor<int64_t>({2}, {7, 0})}}),
                    {"node 'e' (Gather)", "index 7", "out of range"});
  // The session stays usable after a failed run.
  EXPECT_TENSOR(s.run({{"x", x}, {"ids", ids}})[0].tensor, DType::f32, {2, 2}, kY, kTolF32);
}

// A plan whose step shapes contradict the op is refused at load, even with valid checksums: kernels
// index tensors by those shapes (a crafted artifact could otherwise make one read out of bounds).
TEST(SessionLoad, StepsAreCheckedAgainstTheirSchemas) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::function<void(plan::Plan&)>& damage) {
    GraphBuilder b;
    int x = b.input("x", DType::f32, shape({2, 3}));
    b.output(b.node1("MatMul", {x, b.constant("w", tensor<float>({3, 2}, {1, 0, 0, 1, 1, 1}))}, "y"));
    CompileOptions o;
    passes::run_passes(b.g, o);
    std::string weights;
    plan::Plan plan = planner::build_plan(b.g, weights);
    damage(plan);
    artifact::write_artifact(dir.file(name), {{"options", {{"batch", 0}, {"seq", 0}}}}, plan, weights);
    return dir.file(name);
  };
  EXPECT_NO_THROW(Session(write("good.kiln", [](plan::Plan&) {})));
  // The input recorded as [2,2] (a smaller tensor, inside the arena): K no longer matches the weight.
  const std::string narrow = write("narrow.kiln", [](plan::Plan& p) {
    plan::PlanTensor& t = p.tensors[p.inputs[0]];
    t.dims = {2, 2};
    t.bytes = 16;
  });
  EXPECT_KILN_ERROR(Session s(narrow), {"is damaged: step", "its inputs do not fit the op"});
  // The output recorded smaller than the op writes.
  const std::string small = write("small.kiln", [](plan::Plan& p) {
    plan::PlanTensor& t = p.tensors[p.outputs[0]];
    t.dims = {1, 2};
    t.bytes = 8;
  });
  EXPECT_KILN_ERROR(Session s(small), {"is damaged: step", "output 'y' is recorded as f32[1,2], but its inputs give f32[2,2]"});
  // The kernel keyed on another dtype than its tensors.
  const std::string keyed = write("keyed.kiln", [](plan::Plan& p) { p.steps[0].dtype = DType::bf16; });
  EXPECT_KILN_ERROR(Session s(keyed), {"is damaged: step", "kernel dtype is recorded as bf16"});
}

TEST_F(SessionTest, MoveAndLoadErrors) {
  Session a(path);
  Session b = std::move(a);
  EXPECT_TENSOR(b.run({{"x", x}, {"ids", ids}})[0].tensor, DType::f32, {2, 2}, kY, kTolF32);
  EXPECT_KILN_ERROR(Session bad(dir.file("missing.kiln")), {"cannot open artifact", "missing.kiln"});
}

TEST_F(SessionTest, OtherBatchSizeCompilesToOtherShapes) {
  const std::string p3 = dir.file("tiny3.kiln");
  compile_tiny(p3, 3);
  Session s(p3);
  EXPECT_EQ(s.inputs()[0].dims, (Dims{3, 3}));
  std::vector<NamedTensor> out =
      s.run({{"x", tensor<float>({3, 3}, {1, 2, 3, 4, 5, 6, 0, 0, 0})}, {"ids", tensor<int64_t>({3}, {3, 1, 0})}});
  EXPECT_TENSOR(out[0].tensor, DType::f32, {3, 2}, {54, 65, 20, 31, 0, 0}, kTolF32);
}

}  // namespace
}  // namespace kiln::test
