// kiln::Engine: replicas and pipelines give the single session's results, requests of any row count,
// the dynamic batcher merging requests, a full queue rejecting, many threads at once, bad options.
#include <atomic>
#include <thread>

#include "artifact/artifact.h"
#include "kiln/engine.h"
#include "kiln/session.h"
#include "passes/passes.h"
#include "planner/plan.h"
#include "planner/stages.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// x: f32[batch, 5, 8] -> `layers` x (GEMM+GELU, GEMM + residual, LayerNorm) -> y f32[batch, 5, 8]; rows
// are independent, as in an encoder.
void compile_stack(const std::string& path, int64_t batch, int layers = 4) {
  GraphBuilder b;
  int h = b.input("x", DType::f32, shape({"batch", 5, 8}));
  for (int l = 0; l < layers; ++l) {
    const std::string p = "l" + std::to_string(l) + ".";
    int up = b.node1("MatMul", {h, b.constant(p + "w1", random_f32({8, 16}, 10 * l + 1))}, p + "up");
    int g = b.node1("Gelu", {up}, p + "gelu");
    int down = b.node1("MatMul", {g, b.constant(p + "w2", random_f32({16, 8}, 10 * l + 2))}, p + "down");
    int res = b.node1("Add", {down, h}, p + "res");
    h = b.node1("LayerNormalization", {res, b.constant(p + "g", random_f32({8}, 10 * l + 3))}, p + "ln",
                Attr().f("epsilon", 1e-5));
  }
  b.output(h);
  CompileOptions o;
  o.batch = batch;
  passes::run_passes(b.g, o);
  std::string weights;
  planner::Plan plan = planner::build_plan(b.g, weights);
  nlohmann::json meta = {{"options", {{"batch", o.batch}, {"seq", 0}}}};
  artifact::write_artifact(path, meta, plan, weights);
}

// Row r of a [rows, 5, 8] tensor, as a [1, 5, 8] tensor.
Tensor row(const Tensor& t, int64_t r) {
  Tensor out(DType::f32, {1, 5, 8});
  std::memcpy(out.data(), t.data_as<float>() + r * 40, 40 * sizeof(float));
  return out;
}

// The reference: every row on its own through a single-threaded session (batch 1 artifact).
class EngineTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path4 = dir.file("stack4.kiln"), path1 = dir.file("stack1.kiln");
  void SetUp() override {
    compile_stack(path4, 4);
    compile_stack(path1, 1);
  }
  Tensor expected(const Tensor& x) {
    SessionOptions so;
    so.threads = 1;
    Session s(path1, so);
    Tensor out(DType::f32, x.dims());
    for (int64_t r = 0; r < x.dims()[0]; ++r) {
      Tensor y = s.run({{"x", row(x, r)}})[0].tensor;
      std::memcpy(out.data_as<float>() + r * 40, y.data(), 40 * sizeof(float));
    }
    return out;
  }
};

TEST_F(EngineTest, RowsFewerAndMoreThanCompiled) {
  EngineOptions o;
  o.instances = 1;
  o.core_groups = {{allowed_cpus()[0]}};
  Engine e(path4, o);
  EXPECT_EQ(e.compiled_batch(), 4);
  for (int64_t rows : {1, 3, 4, 9}) {
    Tensor x = random_f32({rows, 5, 8}, 100 + rows);
    std::vector<NamedTensor> out = e.run({{"x", x}});
    ASSERT_EQ(out.size(), 1u);
    SCOPED_TRACE("rows " + std::to_string(rows));
    EXPECT_EQ(out[0].tensor.dims(), (Dims{rows, 5, 8}));
    EXPECT_CLOSE(out[0].tensor, expected(x), kTolF32);
  }
  EXPECT_EQ(e.stats().calls, 1u + 1u + 1u + 3u);
}

// Two replicas and a two-stage pipeline, each on one-CPU core groups, with requests from 4 threads:
// every answer is the single session's, bit for bit (the same kernels on one thread each).
TEST_F(EngineTest, ReplicasAndPipelineGiveTheSingleSessionsResults) {
  const std::vector<int>& cpus = allowed_cpus();
  const int a = cpus[0], b = cpus[cpus.size() > 1 ? 1 : 0];
  EngineOptions replicas;
  replicas.instances = 2;
  replicas.core_groups = {{a}, {b}};
  EngineOptions pipeline;
  pipeline.pipeline_stages = 2;
  pipeline.core_groups = {{a}, {b}};
  EngineOptions single;
  single.core_groups = {{a}};
  Engine one(path4, single), two(path4, replicas), piped(path4, pipeline);
  EXPECT_EQ(piped.pipeline_stages(), 2);
  ASSERT_EQ(piped.stage_costs().size(), 2u);
  EXPECT_NEAR(piped.stage_costs()[0] + piped.stage_costs()[1], 1.0, 1e-9);
  std::vector<Tensor> xs;
  for (int i = 0; i < 24; ++i) xs.push_back(random_f32({1 + i % 6, 5, 8}, 500 + i));
  std::vector<Tensor> want(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) want[i] = one.run({{"x", xs[i]}})[0].tensor;
  for (Engine* e : {&two, &piped}) {
    std::vector<Tensor> got(xs.size());
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, t] {
        for (size_t i = t; i < xs.size(); i += 4) got[i] = e->run({{"x", xs[i]}})[0].tensor;
      });
    for (std::thread& c : clients) c.join();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_CLOSE(got[i], want[i], kTolExact) << "request " << i;
  }
}

TEST_F(EngineTest, DynamicBatcherMergesQueuedRequests) {
  EngineOptions o;
  o.core_groups = {{allowed_cpus()[0]}};
  o.max_queue_delay_us = 2'000'000;  // long enough that all four arrive; a full batch runs at once
  Engine e(path4, o);
  std::vector<Tensor> xs;
  std::vector<std::future<std::vector<NamedTensor>>> fs;
  for (int i = 0; i < 4; ++i) {
    xs.push_back(random_f32({1, 5, 8}, 900 + i));
    fs.push_back(e.submit({{"x", xs.back()}}));
  }
  for (int i = 0; i < 4; ++i) EXPECT_CLOSE(fs[i].get()[0].tensor, expected(xs[i]), kTolF32);
  EXPECT_EQ(e.stats().calls, 1u);
  EXPECT_EQ(e.stats().rows, 4u);
}

TEST_F(EngineTest, FullQueueRejectsInsteadOfGrowing) {
  EngineOptions o;
  o.core_groups = {{allowed_cpus()[0]}};
  o.queue_capacity = 2;
  Engine e(path4, o);
  // A long request keeps the worker busy (thousands of calls); meanwhile the queue fills.
  auto busy = e.submit({{"x", random_f32({40000, 5, 8}, 1)}});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the worker has taken it
  auto q1 = e.submit({{"x", random_f32({1, 5, 8}, 2)}});
  auto q2 = e.submit({{"x", random_f32({1, 5, 8}, 3)}});
  EXPECT_THROW(e.submit({{"x", random_f32({1, 5, 8}, 4)}}), QueueFullError);
  EXPECT_EQ(e.stats().rejected, 1u);
  busy.get();
  q1.get();
  q2.get();
}

TEST_F(EngineTest, ManyThreadsOnOneSession) {
  Session s(path4);
  const Tensor x = random_f32({4, 5, 8}, 77);
  const Tensor want = s.run({{"x", x}})[0].tensor;
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        if (std::memcmp(s.run({{"x", x}})[0].tensor.data(), want.data(), want.nbytes()) != 0) ++bad;
    });
  for (std::thread& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(EngineTest, BadRequestsAndOptionsAreClearErrors) {
  EngineOptions o;
  o.core_groups = {{allowed_cpus()[0]}};
  Engine e(path4, o);
  EXPECT_KILN_ERROR(e.run({{"x", random_f32({2, 5, 7}, 1)}}), {"input 'x' has shape [2,5,7], expected [rows,5,8] with rows >= 1"});
  EXPECT_KILN_ERROR(e.run({{"y", random_f32({2, 5, 8}, 1)}}), {"no input named 'y'"});
  EXPECT_KILN_ERROR(e.run({}), {"missing model input(s): x"});
  EngineOptions zero;
  zero.instances = 0;
  EXPECT_KILN_ERROR(Engine(path4, zero), {"--instances must be at least 1, got 0"});
  EngineOptions deep;
  deep.pipeline_stages = 9;
  EXPECT_KILN_ERROR(Engine(path4, deep), {"9 pipeline stages is more than the model's 8 layers"});
  EngineOptions groups;
  groups.instances = 2;
  groups.core_groups = {{allowed_cpus()[0]}};
  EXPECT_KILN_ERROR(Engine(path4, groups), {"1 core groups for 2 instance(s)"});
  const std::string c0 = std::to_string(allowed_cpus()[0]);
  EXPECT_KILN_ERROR(parse_core_groups(c0 + ",x"), {"'x' is not a CPU id"});
  EXPECT_KILN_ERROR(parse_core_groups("4096"), {"core 4096 does not exist"});
  EXPECT_KILN_ERROR(parse_core_groups(c0 + "," + c0), {"core " + c0 + " is in two groups"});
  EXPECT_KILN_ERROR(split_core_groups(4096), {"4096 core groups need at least 4096 cores"});
}

TEST(CoreGroups, SplitAndText) {
  const std::vector<int>& cpus = allowed_cpus();
  CoreGroups one = split_core_groups(1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], cpus);
  EXPECT_EQ(core_group_text({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  CoreGroups g = parse_core_groups(std::to_string(cpus[0]));
  EXPECT_EQ(g, (CoreGroups{{cpus[0]}}));
  Topology t = read_topology();
  EXPECT_EQ(t.cpus, cpus);
  EXPECT_GE(t.physical_cores, 1);
  EXPECT_FALSE(t.numa_nodes.empty());
}

TEST(PipelineStages, BalancedCutsCoverEveryStep) {
  TempDir dir;
  compile_stack(dir.file("s.kiln"), 2, 6);
  artifact::MappedArtifact art(dir.file("s.kiln"));
  planner::Stages st = planner::cut_stages(art.plan(), 3);
  ASSERT_EQ(st.bounds.size(), 4u);
  EXPECT_EQ(st.bounds.front(), 0u);
  EXPECT_EQ(st.bounds.back(), art.plan().steps.size());
  for (size_t s = 0; s < 3; ++s) {
    EXPECT_LT(st.bounds[s], st.bounds[s + 1]);
    EXPECT_NEAR(st.costs[s], 1.0 / 3, 0.12);  // six identical layers: close to a third each
  }
}

}  // namespace
}  // namespace kiln::test
