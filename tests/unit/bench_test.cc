// kiln/bench.h: the structure of what bench and bench_sweep report (never their speed: unit tests are not
// benchmarks), the JSON kiln bench writes, accuracy against the baseline, and bad options.
#include <nlohmann/json.hpp>

#include "compile_graph.h"
#include "kiln/bench.h"
#include "kiln/topology.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// x f32[batch, 4] -> MatMul [4, 3] (+ `shift` on every output) -> y f32[batch, 3].
void compile_linear(const std::string& path, int64_t batch, float shift) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 4}));
  int y = b.node1("MatMul", {x, b.constant("w", random_f32({4, 3}, 7))}, "mm");
  Tensor s(DType::f32, {1});
  s.data_as<float>()[0] = shift;
  b.output(b.node1("Add", {y, b.constant("shift", std::move(s))}, "y"));
  CompileOptions o;
  o.batch = batch;
  compile_graph(path, b.g, o);
}

TEST(Bench, OneArtifactRunsAndReportsItsJson) {
  TempDir dir;
  compile_linear(dir.file("a.kiln"), 2, 0.0f);
  BenchOptions o;
  o.seconds = 0.02;
  o.warmup = 1;
  o.threads = 1;
  const BenchReport r = bench({dir.file("a.kiln")}, o);
  ASSERT_EQ(r.runs.size(), 1u);
  const BenchRun& run = r.runs[0];
  EXPECT_GE(run.iterations, 3u);
  EXPECT_EQ(run.batch, 2);
  EXPECT_EQ(run.threads, 1);
  EXPECT_EQ(run.precision, "fp32");
  EXPECT_GT(run.throughput, 0);
  EXPECT_LE(run.latency_ms.min, run.latency_ms.p50);
  EXPECT_LE(run.latency_ms.p50, run.latency_ms.max);
  EXPECT_FALSE(run.vs_baseline.ran);  // one artifact: nothing to compare
  const nlohmann::json j = nlohmann::json::parse(bench_json(r));
  for (const char* key : {"artifact", "batch", "seq", "threads", "precision", "seconds", "iterations", "warmup", "throughput",
                          "latency_ms", "peak_rss_mb", "options", "kiln_version", "cpu_tier", "wait_policy"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["iterations"].get<size_t>(), run.iterations);
  EXPECT_EQ(j["options"]["batch"], 2);
}

TEST(Bench, ThroughTheEngineTheSameReport) {
  TempDir dir;
  compile_linear(dir.file("a.kiln"), 2, 0.0f);
  BenchOptions o;
  o.seconds = 0.02;
  o.warmup = 1;
  o.threads = 1;
  o.engine = true;
  const BenchReport r = bench({dir.file("a.kiln")}, o);
  EXPECT_TRUE(r.runs[0].engine);
  EXPECT_GE(r.runs[0].iterations, 3u);
  EXPECT_EQ(r.runs[0].threads, 1);
  EXPECT_EQ(nlohmann::json::parse(bench_json(r))["path"], "engine");
  o.engine = false;
  EXPECT_EQ(nlohmann::json::parse(bench_json(bench({dir.file("a.kiln")}, o)))["path"], "session");
}

TEST(Bench, SeveralArtifactsAreComparedWithTheFirstFp32) {
  TempDir dir;
  compile_linear(dir.file("a.kiln"), 2, 0.0f);
  compile_linear(dir.file("b.kiln"), 2, 0.25f);  // the same model, every output 0.25 higher
  BenchOptions o;
  o.seconds = 0.03;
  o.warmup = 0;
  o.threads = 1;
  Tensor x(DType::f32, {2, 4});
  o.inputs = {{"x", x}};
  const BenchReport r = bench({dir.file("b.kiln"), dir.file("a.kiln")}, o);
  EXPECT_EQ(r.rounds, 3);
  EXPECT_EQ(r.baseline, 0u);  // both fp32: the first
  ASSERT_TRUE(r.runs[1].vs_baseline.ran);
  EXPECT_NEAR(r.runs[1].vs_baseline.max_abs_error, 0.25, 1e-6);
  EXPECT_EQ(r.runs[0].vs_baseline.max_abs_error, 0.0);
  EXPECT_EQ(r.runs[1].vs_baseline.samples, 2u);  // the given inputs only
  const nlohmann::json j = nlohmann::json::parse(bench_json(r));
  EXPECT_EQ(j["baseline"], dir.file("b.kiln"));
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_NEAR(j["runs"][1]["vs_baseline"]["max_abs_error"].get<double>(), 0.25, 1e-6);
}

TEST(Bench, BadOptionsAndMismatchedArtifactsAreClearErrors) {
  TempDir dir;
  compile_linear(dir.file("a.kiln"), 2, 0.0f);
  compile_linear(dir.file("b3.kiln"), 3, 0.0f);
  BenchOptions o;
  o.seconds = 0;
  EXPECT_KILN_ERROR(bench({dir.file("a.kiln")}, o), {"seconds must be in (0, 86400], got 0"});
  o.seconds = 0.01;
  o.warmup = -1;
  EXPECT_KILN_ERROR(bench({dir.file("a.kiln")}, o), {"warmup must be >= 0, got -1"});
  o.warmup = 0;
  EXPECT_KILN_ERROR(bench({}, o), {"give at least one artifact"});
  EXPECT_KILN_ERROR(bench({dir.file("a.kiln"), dir.file("b3.kiln")}, o), {"that differ from", "same shapes"});
  o.engine = true;
  EXPECT_KILN_ERROR(bench({dir.file("a.kiln"), dir.file("a.kiln")}, o), {"engine mode times one artifact at a time, got 2"});
  o.engine = false;
  SweepOptions s;
  s.artifacts = {dir.file("a.kiln")};
  s.instances = {0};
  EXPECT_KILN_ERROR(bench_sweep(s), {"instances values must be at least 1, got 0"});
  s.instances = {1000};
  EXPECT_KILN_ERROR(bench_sweep(s), {"no combination of instances and pipeline fits"});
}

TEST(BenchSweep, EveryCombinationOneRowAndTheBestMarked) {
  TempDir dir;
  compile_linear(dir.file("a.kiln"), 2, 0.0f);
  SweepOptions s;
  s.artifacts = {dir.file("a.kiln")};
  s.batch = {1, 3};
  s.concurrency = {1, 2};
  s.instances = {1, 1000};  // 1000 replicas do not fit: skipped, named
  s.seconds = 0.02;
  std::vector<std::string> lines;
  const SweepReport r = bench_sweep(s, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(lines.size(), 4u);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_NE(r.skipped[0].find("instances 1000"), std::string::npos);
  EXPECT_EQ(r.cores, static_cast<int>(allowed_cpus().size()));
  int best = 0;
  for (const SweepRow& row : r.rows) {
    EXPECT_GT(row.requests, 0u);
    EXPECT_GE(row.model_calls, 1u);
    best += row.best;
  }
  EXPECT_EQ(best, 1);
  ASSERT_GE(r.best, 0);
  EXPECT_TRUE(r.rows[r.best].best);
  const nlohmann::json j = nlohmann::json::parse(sweep_json(r));
  EXPECT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["rows"][1]["concurrency"], 2);
  // A budget nothing meets: no best row.
  s.batch = {1};
  s.concurrency = {1};
  s.instances = {1};
  s.latency_budget_ms = 1e-9;
  const SweepReport none = bench_sweep(s);
  EXPECT_EQ(none.best, -1);
}

}  // namespace
}  // namespace kiln::test
