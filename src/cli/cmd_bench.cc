// kiln bench: throughput and latency of one artifact, or of several (one model in several precisions)
// side by side with their accuracy against the fp32 one. The JSON it writes is documented in
// docs/cli.md and kept stable: other tools (bench/e2e/compare) read it.
#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/bench_sweep.h"
#include "cli/sample_inputs.h"
#include "kiln/sample_inputs.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/stats.h"
#include "kiln/version.h"
#include "kiln/wait_policy.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

// One artifact under measurement.
struct Bench {
  std::string path;
  std::unique_ptr<Session> session;
  nlohmann::json meta;
  std::vector<double> lat;  // ms per call, over all rounds
  double seconds = 0;       // timed wall time, over all rounds
  std::vector<NamedTensor> outputs;
};

void measure(Bench& b, const std::vector<NamedTensor>& inputs, double seconds) {
  using clock = std::chrono::steady_clock;
  const clock::time_point start = clock::now();
  double elapsed = 0;
  size_t calls = 0;
  while (elapsed < seconds || calls < 3) {
    const clock::time_point t0 = clock::now();
    b.session->run(inputs, b.outputs);
    const clock::time_point t1 = clock::now();
    b.lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    elapsed = std::chrono::duration<double>(t1 - start).count();
    ++calls;
  }
  b.seconds += elapsed;
}

std::string specs_text(const std::vector<TensorSpec>& specs) {
  std::string s;
  for (const TensorSpec& t : specs) s += (s.empty() ? "" : ", ") + t.name + ": " + dtype_name(t.dtype) + dims_to_string(t.dims);
  return s;
}

struct BenchArgs {
  std::vector<std::string> artifacts;
  std::string json;
  std::vector<std::string> inputs;
  double seconds = 10;
  int warmup = 3, threads = 0, rounds = 0;
  // Sweep (bench_sweep.h)
  std::string batch, instances, pipeline, concurrency, csv, plot;
  int64_t max_delay_us = 0;
  double cost_per_hour = kDefaultCostPerHour, latency_budget_ms = 0;
};

// Any sweep flag: every combination on the serving engine (bench_sweep.h).
int run_sweep(const BenchArgs& args) {
  auto list = [](const char* flag, const std::string& text, int dflt) {
    return text.empty() ? std::vector<int>{dflt} : parse_int_list<int>(flag, text);
  };
  SweepSpec spec;
  spec.artifacts = args.artifacts;
  spec.instances = list("--instances", args.instances, 1);
  spec.pipeline = list("--pipeline", args.pipeline, 1);
  spec.concurrency = list("--concurrency", args.concurrency, 1);
  spec.max_delay_us = args.max_delay_us;
  spec.seconds = args.seconds;
  spec.cost_per_hour = args.cost_per_hour;
  spec.latency_budget_ms = args.latency_budget_ms;
  spec.json = args.json;
  spec.csv = args.csv;
  spec.plot = args.plot;
  const int64_t compiled = std::max<int64_t>(Model::open(args.artifacts[0])->info().batch, 1);
  spec.batch = list("--batch", args.batch, static_cast<int>(compiled));
  if (!(args.seconds > 0) || args.seconds > 86400) fail("--seconds must be in (0, 86400], got ", args.seconds);
  return run_bench_sweep(spec);
}

// One artifact, or several side by side with their accuracy against the baseline.
int run_benches(const BenchArgs& args) {
  if (!(args.seconds > 0) || args.seconds > 86400) fail("--seconds must be in (0, 86400], got ", args.seconds);
  if (args.warmup < 0) fail("--warmup must be >= 0, got ", args.warmup);
  if (args.rounds < 0) fail("--rounds must be >= 0, got ", args.rounds);
  check_threads(args.threads);
  SessionOptions options;
  options.threads = args.threads;
  std::vector<Bench> benches;
  for (const std::string& path : args.artifacts) {
    Bench b;
    b.path = path;
    b.session = std::make_unique<Session>(path, options);
    b.meta = nlohmann::json::parse(b.session->metadata_json());
    if (!benches.empty() && specs_text(b.session->inputs()) != specs_text(benches[0].session->inputs()))
      fail("'", path, "' takes inputs (", specs_text(b.session->inputs()), ") that differ from '", benches[0].path, "' (",
           specs_text(benches[0].session->inputs()), "): compare artifacts of one model compiled for the same shapes");
    benches.push_back(std::move(b));
  }
  Session& first = *benches[0].session;
  std::vector<NamedTensor> inputs = load_or_make_inputs(first, args.inputs);
  const int64_t batch = benches[0].meta.at("options").value("batch", int64_t{0});
  const int64_t seq = benches[0].meta.at("options").value("seq", int64_t{0});
  const int64_t seqs_per_call = batch > 0 ? batch : 1;
  const int rounds = args.rounds > 0 ? args.rounds : (benches.size() > 1 ? 3 : 1);
  for (Bench& b : benches)
    for (int i = 0; i < args.warmup; ++i) b.session->run(inputs, b.outputs);
  for (int r = 0; r < rounds; ++r)
    for (Bench& b : benches) measure(b, inputs, args.seconds / rounds);

  // Accuracy against the baseline, on the measured inputs plus three more generated batches.
  size_t base = 0;
  for (size_t i = benches.size(); i-- > 0;)
    if (benches[i].meta.at("options").value("precision", "fp32") == "fp32") base = i;
  std::vector<std::vector<NamedTensor>> check = {inputs};
  if (args.inputs.empty())
    for (uint64_t seed = 2; seed <= 4; ++seed) check.push_back(make_sample_inputs(first, seed * kDefaultSampleSeed));

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  nlohmann::json runs = nlohmann::json::array();
  for (size_t i = 0; i < benches.size(); ++i) {
    Bench& b = benches[i];
    std::vector<double> sorted = b.lat;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double v : b.lat) sum += v;
    nlohmann::json j = {
        {"artifact", b.path},
        {"batch", batch},
        {"seq", seq},
        {"threads", b.session->threads()},
        {"precision", b.meta.at("options").value("precision", "fp32")},
        {"seconds", b.seconds},
        {"iterations", b.lat.size()},
        {"warmup", args.warmup},
        {"throughput", static_cast<double>(b.lat.size() * seqs_per_call) / b.seconds},
        {"latency_ms",
         {{"p50", percentile(sorted, 0.50)}, {"p90", percentile(sorted, 0.90)}, {"p99", percentile(sorted, 0.99)},
          {"max", sorted.back()}, {"min", sorted.front()}, {"mean", sum / static_cast<double>(b.lat.size())}}},
        {"peak_rss_mb", peak_rss_mb},
        {"options", b.meta.at("options")},
        {"kiln_version", version()},
        {"cpu_tier", kernel_tier()},
        {"wait_policy", wait_policy_name(current_wait_policy())},
    };
    if (benches.size() > 1) {
      const CompileReport::Verification v = compare_sessions(*b.session, *benches[base].session, check);
      j["vs_baseline"] = {{"baseline", benches[base].path}, {"max_abs_error", v.max_abs_error}, {"max_rel_error", v.max_rel_error},
                          {"cosine", v.min_cosine}, {"argmax_agreement", v.argmax_agreement}, {"samples", v.samples}};
    }
    runs.push_back(j);
  }
  if (benches.size() == 1) {
    const nlohmann::json& j = runs[0];
    const auto& l = j["latency_ms"];
    std::printf("%s: batch %lld, seq %lld, %s, %d thread%s\n", benches[0].path.c_str(), static_cast<long long>(batch),
                static_cast<long long>(seq), j["precision"].get<std::string>().c_str(), first.threads(),
                first.threads() == 1 ? "" : "s");
    std::printf("  %zu calls in %.2f s after %d warm-up calls\n", benches[0].lat.size(), benches[0].seconds, args.warmup);
    std::printf("  throughput  %.2f sequences/s\n", j["throughput"].get<double>());
    std::printf("  latency ms  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (per call of batch %lld)\n", l["p50"].get<double>(),
                l["p90"].get<double>(), l["p99"].get<double>(), l["max"].get<double>(), static_cast<long long>(seqs_per_call));
    std::printf("  peak RSS    %.0f MiB\n", peak_rss_mb);
    if (!args.json.empty()) write_file_atomic(args.json, j.dump(2) + "\n", "JSON file");
    return 0;
  }
  std::printf("batch %lld, seq %lld, %d thread%s, %d interleaved round%s of %.1f s per artifact; accuracy vs %s on %zu samples\n\n",
              static_cast<long long>(batch), static_cast<long long>(seq), first.threads(), first.threads() == 1 ? "" : "s", rounds,
              rounds == 1 ? "" : "s", args.seconds / rounds, benches[base].path.c_str(),
              static_cast<size_t>(runs[0]["vs_baseline"]["samples"].get<size_t>()));
  std::printf("| artifact | mode | seq/s | speed-up | p50 ms | p99 ms | max abs error | argmax agreement |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  const double base_tp = runs[base]["throughput"].get<double>();
  for (const nlohmann::json& j : runs) {
    const auto& v = j["vs_baseline"];
    std::printf("| %s | %s | %.2f | %.2fx | %.2f | %.2f | %.3g | %.2f%% |\n", base_name(j["artifact"].get<std::string>()).c_str(),
                j["precision"].get<std::string>().c_str(), j["throughput"].get<double>(), j["throughput"].get<double>() / base_tp,
                j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>(), v["max_abs_error"].get<double>(),
                100 * v["argmax_agreement"].get<double>());
  }
  if (!args.json.empty())
    write_file_atomic(args.json, nlohmann::json({{"runs", runs}, {"baseline", benches[base].path}, {"rounds", rounds}}).dump(2) + "\n",
                      "JSON file");
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure throughput and latency of compiled artifacts");
  cmd->footer(
      "With several artifacts (the same model compiled in several precisions), every one runs on the same\n"
      "inputs in interleaved rounds, and one table shows speed next to accuracy: max abs error and argmax\n"
      "agreement against the baseline (the first fp32 artifact, else the first).");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("artifacts", args->artifacts, "Compiled .kiln file(s)")->required();
  cmd->add_option("--seconds", args->seconds, "How long to measure each artifact, after warm-up (default 10)");
  cmd->add_option("--warmup", args->warmup, "Untimed runs first (default 3)");
  cmd->add_option("--rounds", args->rounds, "Interleaved rounds over the artifacts (default 1, or 3 with several)");
  add_threads_option(cmd, args->threads);
  add_wait_policy_option(cmd);
  add_repeated_option(cmd, "-i,--input", args->inputs, "NAME=FILE.npy (default: generated from the compiled shapes)");
  cmd->add_option("--json", args->json, "Also write the results as JSON to this file");
  // Sweep mode: any of these runs every combination on the serving engine (docs/tuning.md).
  std::vector<CLI::Option*> sweep = {
      cmd->add_option("--batch", args->batch, "Sweep: rows per request, comma-separated (e.g. 1,4,8,16)"),
      cmd->add_option("--instances", args->instances, "Sweep: data-parallel replicas, one core group each (e.g. 1,2)"),
      cmd->add_option("--pipeline", args->pipeline, "Sweep: pipeline stages per replica, one core group each (e.g. 1,2)"),
      cmd->add_option("--concurrency", args->concurrency, "Sweep: client threads sending requests (e.g. 1,4,16)"),
      cmd->add_option("--max-delay-us", args->max_delay_us, "Sweep: dynamic batching, how long to wait to merge requests (default 0)"),
      cmd->add_option("--cost-per-hour", args->cost_per_hour, "Sweep: machine price in $/hour for the cost column (default 0.0765)"),
      cmd->add_option("--latency-budget-ms", args->latency_budget_ms, "Sweep: mark the best configuration whose p99 fits"),
      cmd->add_option("--csv", args->csv, "Sweep: also write the table as CSV"),
      cmd->add_option("--plot", args->plot, "Sweep: also write throughput against p99 latency as a PNG"),
  };
  return [args, sweep]() {
    for (CLI::Option* o : sweep)
      if (o->count()) return run_sweep(*args);
    return run_benches(*args);
  };
}

}  // namespace kiln::cli
