// kiln::Engine: replicas and pipelines give the single session's results, requests of any row count,
// the dynamic batcher merging requests, a full queue rejecting, many threads at once, bad options.
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <atomic>
#include <functional>
#include <tuple>
#include <thread>

#include "artifact/artifact.h"
#include "kiln/engine.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "passes/batch_axes.h"
#include "passes/passes.h"
#include "plan/plan.h"
#include "plan/stages.h"
#include "compile_graph.h"
#include "kiln/sample_inputs.h"
#include "kiln/version.h"
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
  compile_graph(path, b.g, o);
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
  const Engine::Stats st = e.stats();
  EXPECT_EQ(st.calls, 1u + 1u + 1u + 3u);
  EXPECT_EQ(st.requests, 4u);
  EXPECT_EQ(st.completed, 4u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.rows, 1u + 3u + 4u + 9u);
  EXPECT_EQ(st.queue_depth, 0u);
  EXPECT_EQ(st.in_flight, 0u);
  EXPECT_GT(st.compute_seconds, 0.0);
  EXPECT_GE(st.end_to_end_seconds, st.queue_seconds);
  EXPECT_GE(st.end_to_end_seconds, st.compute_seconds * 0.99);  // one request at a time: each call inside one request
  ASSERT_EQ(e.request_specs().size(), 1u);
  EXPECT_EQ(e.request_specs()[0].request, (Dims{-1, 5, 8}));
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

// Model::save writes the artifact byte for byte from the mapping, also after the file it was opened from is
// gone (Python's Model.save and kiln.compile's temporary artifacts rely on it).
TEST_F(EngineTest, ModelSaveWritesTheMappedBytesEvenAfterTheFileIsDeleted) {
  std::ifstream in(path4, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string moved = dir.file("moved.kiln"), copy = dir.file("copy.kiln");
  ASSERT_EQ(std::rename(path4.c_str(), moved.c_str()), 0);
  std::shared_ptr<const Model> m = Model::open(moved);
  ASSERT_EQ(std::remove(moved.c_str()), 0);
  m->save(copy);
  std::ifstream again(copy, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), original);
  Session a(m), b(copy);
  std::vector<NamedTensor> x = make_sample_inputs(a);
  EXPECT_CLOSE(a.run(x)[0].tensor, b.run(x)[0].tensor, kTolExact);
  try {
    m->save(dir.file("no/such/folder/x.kiln"));
    FAIL() << "saved into a missing folder";
  } catch (const InvalidInputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.kiln"), std::string::npos) << e.what();
  }
}

// kiln::Model: an engine's replicas and pipeline slots, and sessions made from one Model, share one
// mapping of the artifact.
TEST_F(EngineTest, OneMappingForEveryReplicaAndSlot) {
  const std::vector<int>& cpus = allowed_cpus();
  EngineOptions piped;
  piped.pipeline_stages = 2;  // 3 slots, each a session
  piped.core_groups = {{cpus[0]}, {cpus[cpus.size() > 1 ? 1 : 0]}};
  const uint64_t before = Model::mappings_opened();
  Engine e(path4, piped);
  EXPECT_EQ(Model::mappings_opened() - before, 1u);
  std::shared_ptr<const Model> m = Model::open(path4);
  EngineOptions two;
  two.instances = 2;
  two.core_groups = piped.core_groups;
  Engine e2(m, two);
  Session s(m);
  EXPECT_EQ(Model::mappings_opened() - before, 2u);
  EXPECT_EQ(e2.model().get(), m.get());
  EXPECT_EQ(s.model().get(), m.get());
  const ModelInfo& info = m->info();
  EXPECT_TRUE(info.any_rows);
  EXPECT_FALSE(info.any_length);
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].request, (Dims{-1, 5, 8}));
  EXPECT_EQ(info.inputs[0].compiled, (Dims{4, 5, 8}));
  EXPECT_EQ(info.outputs[0].request, (Dims{-1, 5, 8}));
  EXPECT_EQ(info.task, Task::other);

  // The plan as tools show it: every step with its kernel on this CPU and its shapes.
  const PlanInfo plan = m->plan_info(0);
  ASSERT_FALSE(plan.steps.empty());
  EXPECT_GT(plan.arena_bytes, 0u);
  for (const StepInfo& st : plan.steps) {
    EXPECT_FALSE(st.kernel.empty()) << st.op;
    EXPECT_FALSE(st.outputs.empty()) << st.op;
  }
  EXPECT_EQ(plan.steps.back().outputs.back(), "f32[4,5,8]");
  EXPECT_THROW(m->plan_info(1), InvalidInputError);
  EXPECT_EQ(m->file().format_version, kArtifactFormatVersion);
  EXPECT_GT(m->file().bytes, plan.weight_bytes);

  // Sample inputs come in the model's shapes, deterministically.
  const std::vector<NamedTensor> a = make_sample_inputs(s), b = make_sample_inputs(e2);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].tensor.dims(), (Dims{4, 5, 8}));
  EXPECT_EQ(std::memcmp(a[0].tensor.data(), b[0].tensor.data(), a[0].tensor.nbytes()), 0);
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
  EXPECT_KILN_ERROR(Engine(path4, zero), {"instances must be at least 1, got 0"});
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
  plan::Stages st = plan::cut_stages(art.plan(), 3);
  ASSERT_EQ(st.bounds.size(), 4u);
  EXPECT_EQ(st.bounds.front(), 0u);
  EXPECT_EQ(st.bounds.back(), art.plan().steps.size());
  for (size_t s = 0; s < 3; ++s) {
    EXPECT_LT(st.bounds[s], st.bounds[s + 1]);
    EXPECT_NEAR(st.costs[s], 1.0 / 3, 0.12);  // six identical layers: close to a third each
  }
}

// ---- Models outside the BERT shape: the batch axis is what the compiler recorded, nothing else. ----

EngineOptions one_cpu() {
  EngineOptions o;
  o.core_groups = {{allowed_cpus()[0]}};
  return o;
}

// Session on the same artifact: the reference for a request with the compiled shapes.
std::vector<NamedTensor> session_run(const std::string& path, const std::vector<NamedTensor>& in) {
  SessionOptions so;
  so.threads = 1;
  return Session(path, so).run(in);
}

Tensor i64_tensor(const Dims& dims, std::vector<int64_t> v) {
  Tensor t(DType::i64, dims);
  std::copy(v.begin(), v.end(), t.data_as<int64_t>());
  return t;
}

// A 2-D MatMul of two graph inputs with different leading dims ([3,4] x [4,2]) and static shapes, as in
// ONNX's test_matmul_2d: no batch axis, so tensors pass whole and other shapes are refused.
TEST(EngineAxes, NoBatchAxisPassesTensorsWhole) {
  TempDir dir;
  GraphBuilder b;
  int a = b.input("a", DType::f32, shape({3, 4}));
  int w = b.input("b", DType::f32, shape({4, 2}));
  b.output(b.node1("MatMul", {a, w}, "y"));
  CompileOptions o;  // no --batch: nothing may vary
  compile_graph(dir.file("mm.kiln"), b.g, o);
  Engine e(dir.file("mm.kiln"), one_cpu());
  EXPECT_FALSE(e.has_batch_axis());
  EXPECT_EQ(e.compiled_batch(), 1);
  const std::vector<NamedTensor> in = {{"a", random_f32({3, 4}, 1)}, {"b", random_f32({4, 2}, 2)}};
  std::vector<NamedTensor> got = e.run(in);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tensor.dims(), (Dims{3, 2}));
  EXPECT_CLOSE(got[0].tensor, session_run(dir.file("mm.kiln"), in)[0].tensor, kTolExact);
  EXPECT_KILN_ERROR(e.run({{"a", random_f32({2, 4}, 1)}, {"b", random_f32({4, 2}, 2)}}), {"input 'a' has shape [2,4], expected [3,4]"});
  EXPECT_KILN_ERROR(e.run({{"a", random_f32({3, 4}, 1)}, {"b", random_f32({3, 2}, 2)}}), {"input 'b' has shape [3,2], expected [4,2]"});
  EXPECT_EQ(e.stats().calls, 1u);
}

// Even with --batch given, a static model has no batch axis: the compiled [3,4] is not "3 rows".
TEST(EngineAxes, StaticModelWithBatchGivenIsNotBatched) {
  TempDir dir;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 4}));
  b.output(b.node1("Transpose", {x}, "y"));
  CompileOptions o;
  o.batch = 3;
  compile_graph(dir.file("t.kiln"), b.g, o);
  Engine e(dir.file("t.kiln"), one_cpu());
  EXPECT_FALSE(e.has_batch_axis());
  const Tensor in = random_f32({3, 4}, 5);
  Tensor got = e.run({{"x", in}})[0].tensor;
  ASSERT_EQ(got.dims(), (Dims{4, 3}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(got.data_as<float>()[j * 3 + i], in.data_as<float>()[i * 4 + j]);
}

// Mixed leading dims: x has rows, the table t does not. Any row count works; t is checked and passed
// whole to every call, and requests are not merged (they could carry different tables).
TEST(EngineAxes, InputWithoutBatchAxisIsPassedWholeToEveryCall) {
  TempDir dir;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 4}));
  int t = b.input("t", DType::f32, shape({5, 4}));
  int tt = b.node1("Transpose", {t}, "tt");
  b.output(b.node1("MatMul", {x, tt}, "y"));
  CompileOptions o;
  o.batch = 2;
  compile_graph(dir.file("mixed.kiln"), b.g, o);
  EngineOptions opts = one_cpu();
  opts.max_queue_delay_us = 100'000;
  Engine e(dir.file("mixed.kiln"), opts);
  EXPECT_TRUE(e.has_batch_axis());
  const Tensor table = random_f32({5, 4}, 9);
  for (int64_t rows : {1, 2, 5}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const Tensor xs = random_f32({rows, 4}, 10 + rows);
    Tensor got = e.run({{"x", xs}, {"t", table}})[0].tensor;
    ASSERT_EQ(got.dims(), (Dims{rows, 5}));
    for (int64_t r = 0; r < rows; ++r)
      for (int c = 0; c < 5; ++c) {
        double want = 0;
        for (int k = 0; k < 4; ++k) want += double(xs.data_as<float>()[r * 4 + k]) * table.data_as<float>()[c * 4 + k];
        EXPECT_NEAR(got.data_as<float>()[r * 5 + c], want, 1e-5);
      }
  }
  EXPECT_KILN_ERROR(e.run({{"x", random_f32({2, 4}, 1)}, {"t", random_f32({4, 4}, 2)}}), {"input 't' has shape [4,4], expected [5,4]"});
  // Two single-row requests with different tables: two calls, each with its own table.
  auto f1 = e.submit({{"x", random_f32({1, 4}, 3)}, {"t", table}});
  auto f2 = e.submit({{"x", random_f32({1, 4}, 3)}, {"t", random_f32({5, 4}, 4)}});
  EXPECT_NE(std::memcmp(f1.get()[0].tensor.data(), f2.get()[0].tensor.data(), 5 * sizeof(float)), 0);
}

// Scalar and 1-D tensors: y[b] = sum_k x[b,k] * s with a scalar input s: rows on x and y (1-D), s whole.
TEST(EngineAxes, ScalarInputAndOneDimensionalOutput) {
  TempDir dir;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 3}));
  int sc = b.input("s", DType::f32, shape({}));
  int m = b.node1("Mul", {x, sc}, "m");
  b.output(b.node1("ReduceSum", {m, b.constant("axes", i64_tensor({1}, {1}))}, "y", Attr().i("keepdims", 0)));
  CompileOptions o;
  o.batch = 4;
  compile_graph(dir.file("s.kiln"), b.g, o);
  Engine e(dir.file("s.kiln"), one_cpu());
  EXPECT_TRUE(e.has_batch_axis());
  EXPECT_EQ(e.model()->info().inputs[0].request, (Dims{-1, 3}));
  EXPECT_EQ(e.model()->info().inputs[1].request, Dims{});
  EXPECT_EQ(e.model()->info().outputs[0].request, Dims{-1});
  Tensor s(DType::f32, {});
  s.data_as<float>()[0] = 2.0f;
  for (int64_t rows : {1, 3, 6}) {
    const Tensor xs = random_f32({rows, 3}, 20 + rows);
    Tensor got = e.run({{"x", xs}, {"s", s}})[0].tensor;
    ASSERT_EQ(got.dims(), (Dims{rows}));
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = xs.data_as<float>() + r * 3;
      EXPECT_NEAR(got.data_as<float>()[r], 2.0 * (double(p[0]) + p[1] + p[2]), 1e-5);
    }
  }
  EXPECT_KILN_ERROR(e.run({{"x", random_f32({2, 3}, 1)}, {"s", random_f32({1}, 1)}}), {"input 's' has shape [1], expected []"});
}

// A reduction over the batch mixes rows: merging or padding would change the answer, so the model runs
// only at its compiled shapes, and a scalar output comes back as computed.
TEST(EngineAxes, RowsThatMixAreNeverMergedOrPadded) {
  TempDir dir;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 3}));
  b.output(b.node1("ReduceSum", {x}, "total", Attr().i("keepdims", 0)));
  CompileOptions o;
  o.batch = 2;
  const passes::BatchAxes axes = passes::find_batch_axes(b.g, o);
  EXPECT_FALSE(axes.rows_independent);
  EXPECT_NE(axes.reason.find("reduces over every axis"), std::string::npos) << axes.reason;
  compile_graph(dir.file("r.kiln"), b.g, o);
  Engine e(dir.file("r.kiln"), one_cpu());
  EXPECT_FALSE(e.has_batch_axis());
  const Tensor xs = random_f32({2, 3}, 3);
  Tensor got = e.run({{"x", xs}})[0].tensor;
  ASSERT_EQ(got.dims(), Dims{});
  double want = 0;
  for (int i = 0; i < 6; ++i) want += xs.data_as<float>()[i];
  EXPECT_NEAR(got.data_as<float>()[0], want, 1e-5);
  EXPECT_KILN_ERROR(e.run({{"x", random_f32({1, 3}, 1)}}), {"input 'x' has shape [1,3], expected [2,3]"});
}

// Outputs folded to constants: one that does not depend on the batch comes back whole with any row count;
// a model that folds entirely (no steps at all) still answers.
TEST(EngineAxes, ConstantOutputs) {
  TempDir dir;
  {
    GraphBuilder b;
    int x = b.input("x", DType::f32, shape({"batch", 3}));
    b.output(b.node1("Relu", {x}, "y"));
    b.output(b.node1("Shape", {b.constant("c", random_f32({7, 2}, 1))}, "shape_of_c"));
    CompileOptions o;
    o.batch = 2;
    compile_graph(dir.file("c.kiln"), b.g, o);
    Engine e(dir.file("c.kiln"), one_cpu());
    EXPECT_TRUE(e.has_batch_axis());
    std::vector<NamedTensor> got = e.run({{"x", random_f32({5, 3}, 2)}});
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].tensor.dims(), (Dims{5, 3}));
    ASSERT_EQ(got[1].tensor.dims(), (Dims{2}));
    EXPECT_EQ(got[1].tensor.data_as<int64_t>()[0], 7);
    EXPECT_EQ(got[1].tensor.data_as<int64_t>()[1], 2);
  }
  {
    // The shape of the input is a constant of the compiled batch: such a model cannot take other rows.
    GraphBuilder b;
    int x = b.input("x", DType::f32, shape({"batch", 3}));
    b.output(b.node1("Shape", {x}, "s"));
    CompileOptions o;
    o.batch = 2;
    compile_graph(dir.file("shape.kiln"), b.g, o);
    Engine e(dir.file("shape.kiln"), one_cpu());
    EXPECT_FALSE(e.has_batch_axis());
    Tensor got = e.run({{"x", random_f32({2, 3}, 2)}})[0].tensor;
    ASSERT_EQ(got.dims(), (Dims{2}));
    EXPECT_EQ(got.data_as<int64_t>()[0], 2);
    EXPECT_EQ(got.data_as<int64_t>()[1], 3);
    EXPECT_KILN_ERROR(e.run({{"x", random_f32({3, 3}, 2)}}), {"expected [2,3]"});
  }
}

// The analysis itself on graph shapes the runtime cannot merge: [batch*seq] reshapes are row-local, a
// reshape that moves the batch inward or a softmax over it is not.
TEST(EngineAxes, AnalysisFollowsReshapesAndRejectsMixing) {
  auto analyse = [](const std::function<int(GraphBuilder&, int)>& body) {
    GraphBuilder b;
    int x = b.input("x", DType::f32, shape({"batch", 6}));
    b.output(body(b, x));
    CompileOptions o;
    o.batch = 4;
    return passes::find_batch_axes(b.g, o);
  };
  passes::BatchAxes flat = analyse([](GraphBuilder& b, int x) {
    int r = b.node1("Reshape", {x, b.constant("s1", i64_tensor({2}, {-1, 3}))}, "flat");     // [batch*2, 3]
    int sm = b.node1("Softmax", {r}, "sm", Attr().i("axis", -1));
    return b.node1("Reshape", {sm, b.constant("s2", i64_tensor({2}, {-1, 6}))}, "back");    // [batch, 6]
  });
  EXPECT_TRUE(flat.rows_independent) << flat.reason;
  EXPECT_EQ(flat.outputs[0].batch, 0);
  passes::BatchAxes inward = analyse([](GraphBuilder& b, int x) {
    return b.node1("Reshape", {x, b.constant("s", i64_tensor({2}, {6, -1}))}, "swap");      // [6, batch]
  });
  EXPECT_FALSE(inward.rows_independent);
  passes::BatchAxes softmax = analyse([](GraphBuilder& b, int x) { return b.node1("Softmax", {x}, "sm", Attr().i("axis", 0)); });
  EXPECT_FALSE(softmax.rows_independent);
  EXPECT_NE(softmax.reason.find("normalises along the batch axis"), std::string::npos) << softmax.reason;
  passes::BatchAxes concat = analyse([](GraphBuilder& b, int x) { return b.node1("Concat", {x, x}, "cat", Attr().i("axis", 0)); });
  EXPECT_FALSE(concat.rows_independent);
  passes::BatchAxes fine = analyse([](GraphBuilder& b, int x) { return b.node1("Concat", {x, x}, "cat", Attr().i("axis", 1)); });
  EXPECT_TRUE(fine.rows_independent) << fine.reason;
}

// Engine routing with sequence buckets (compiled for lengths 4 and 8, batch 2): a request runs in the
// smallest bucket that fits, token ids are padded with the pad id and masks with 0, per-token outputs
// are cut back to the request's length, longer requests are refused or truncated, and rows are split.
TEST(EngineRouting, SequenceBucketsPaddingAndCutting) {
  TempDir dir;
  GraphBuilder b;
  int ids = b.input("input_ids", DType::i64, shape({"batch", "sequence"}));
  int mask = b.input("attention_mask", DType::i64, shape({"batch", "sequence"}));
  int fi = b.node1("Cast", {ids}, "ids_f", Attr().s("to", "f32"));
  int fm = b.node1("Cast", {mask}, "mask_f", Attr().s("to", "f32"));
  int tok = b.node1("Mul", {fi, fm}, "per_token");                      // [batch, seq]: ids where the mask is 1
  int cnt = b.node1("ReduceSum", {fm, b.constant("ax", i64_tensor({1}, {1}))}, "length", Attr().i("keepdims", 0));
  int padded = b.node1("ReduceSum", {fi, b.constant("ax2", i64_tensor({1}, {1}))}, "id_sum", Attr().i("keepdims", 0));
  b.output(tok);
  b.output(cnt);
  b.output(padded);
  CompileOptions o;
  o.batch = 2;
  compile_graph_buckets(dir.file("b.kiln"), b.g, o, {4, 8}, {{"pad_id", 7}},
                        {{"input_ids", {{"role", "token_ids"}}}, {"attention_mask", {{"role", "attention_mask"}}}});
  EngineOptions opts = one_cpu();
  opts.max_queue_delay_us = 0;
  Engine e(dir.file("b.kiln"), opts);
  EXPECT_EQ(e.seq_buckets(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(e.model()->info().inputs[0].request, (Dims{-1, -1}));
  auto request = [](int64_t rows, int64_t seq) {
    std::vector<int64_t> v(rows * seq), m(rows * seq, 1);
    for (int64_t i = 0; i < rows * seq; ++i) v[i] = 10 + i;
    return std::vector<NamedTensor>{{"input_ids", i64_tensor({rows, seq}, v)}, {"attention_mask", i64_tensor({rows, seq}, m)}};
  };
  for (auto [rows, seq, bucket] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 3, 4}, {1, 4, 4}, {5, 6, 8}, {2, 8, 8}}) {
    SCOPED_TRACE(str("rows ", rows, ", seq ", seq));
    std::vector<NamedTensor> out = e.run(request(rows, seq));
    ASSERT_EQ(out.size(), 3u);
    ASSERT_EQ(out[0].tensor.dims(), (Dims{rows, seq}));  // cut back to the request's length
    ASSERT_EQ(out[1].tensor.dims(), (Dims{rows}));
    for (int64_t r = 0; r < rows; ++r) {
      double ids_sum = 0;
      for (int64_t i = 0; i < seq; ++i) {
        const double id = 10 + r * seq + i;
        EXPECT_EQ(out[0].tensor.data_as<float>()[r * seq + i], id);
        ids_sum += id;
      }
      EXPECT_EQ(out[1].tensor.data_as<float>()[r], seq);  // padding positions have mask 0
      // The bucket's padding positions hold the pad id: the ids' sum over the bucket shows which ran.
      EXPECT_EQ(out[2].tensor.data_as<float>()[r], ids_sum + 7.0 * (bucket - seq));
    }
  }
  EXPECT_KILN_ERROR(e.run(request(1, 9)), {"a sequence of 9 tokens is longer than the longest compiled length (8)"});
  EXPECT_KILN_ERROR(e.run({{"input_ids", i64_tensor({1, 3}, {1, 2, 3})}, {"attention_mask", i64_tensor({1, 2}, {1, 1})}}),
                    {"different sequence lengths"});
  EngineOptions cut = opts;
  cut.truncate = true;
  Engine t(dir.file("b.kiln"), cut);
  std::vector<NamedTensor> out = t.run(request(1, 10));
  ASSERT_EQ(out[0].tensor.dims(), (Dims{1, 8}));
  EXPECT_EQ(out[1].tensor.data_as<float>()[0], 8.0f);
}

}  // namespace
}  // namespace kiln::test
