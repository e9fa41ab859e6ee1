// kiln bench: throughput and latency of one artifact, or of several (one model in several precisions)
// side by side with their accuracy against the fp32 one; with sweep flags, the serving Engine under
// concurrent clients. The measuring is the library's (kiln/bench.h); this file parses flags and prints.
// The JSON it writes is documented in docs/cli.md and kept stable: other tools (bench/e2e/compare) read it.
#include <algorithm>
#include <cstdio>

#include "cli/bench_sweep.h"
#include "cli/commands.h"
#include "cli/sample_inputs.h"
#include "kiln/bench.h"
#include "kiln/error.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> artifacts;
  std::string json;
  std::vector<std::string> inputs;
  double seconds = 10;
  int warmup = 3, threads = 0, rounds = 0;
  bool engine = false;
  // Sweep (kiln::bench_sweep)
  std::string batch, instances, pipeline, concurrency, csv, plot;
  int64_t max_delay_us = 0;
  double cost_per_hour = SweepOptions().cost_per_hour, latency_budget_ms = 0;
};

// Any sweep flag: every combination on the serving engine (docs/tuning.md).
int run_sweep(const BenchArgs& args) {
  auto list = [](const char* flag, const std::string& text, std::vector<int> dflt) {
    return text.empty() ? dflt : parse_int_list<int>(flag, text);
  };
  SweepOptions o;
  o.artifacts = args.artifacts;
  o.batch = list("--batch", args.batch, {});
  o.instances = list("--instances", args.instances, {1});
  o.pipeline = list("--pipeline", args.pipeline, {1});
  o.concurrency = list("--concurrency", args.concurrency, {1});
  o.max_delay_us = args.max_delay_us;
  o.seconds = args.seconds;
  o.cost_per_hour = args.cost_per_hour;
  o.latency_budget_ms = args.latency_budget_ms;
  const SweepReport r = bench_sweep(o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  print_sweep(r, args.json, args.csv, args.plot);
  return 0;
}

// One artifact, or several side by side with their accuracy against the baseline.
int run_benches(const BenchArgs& args) {
  BenchOptions o;
  o.seconds = args.seconds;
  o.warmup = args.warmup;
  o.rounds = args.rounds;
  o.threads = args.threads;
  o.engine = args.engine;
  o.inputs = read_input_specs(args.inputs);
  const BenchReport r = bench(args.artifacts, o);
  const BenchRun& first = r.runs[0];
  const int64_t per_call = std::max<int64_t>(first.batch, 1);
  if (r.runs.size() == 1) {
    const LatencyStats& l = first.latency_ms;
    std::printf("%s: batch %lld, seq %lld, %s, %d thread%s%s\n", first.artifact.c_str(), static_cast<long long>(first.batch),
                static_cast<long long>(first.seq), first.precision.c_str(), first.threads, first.threads == 1 ? "" : "s",
                first.engine ? ", through the serving Engine" : "");
    std::printf("  %zu calls in %.2f s after %d warm-up calls\n", first.iterations, first.seconds, r.warmup);
    std::printf("  throughput  %.2f sequences/s\n", first.throughput);
    std::printf("  latency ms  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (per call of batch %lld)\n", l.p50, l.p90, l.p99, l.max,
                static_cast<long long>(per_call));
    std::printf("  peak RSS    %.0f MiB\n", r.peak_rss_mb);
  } else {
    std::printf("batch %lld, seq %lld, %d thread%s, %d interleaved round%s of %.1f s per artifact; accuracy vs %s on %zu samples\n\n",
                static_cast<long long>(first.batch), static_cast<long long>(first.seq), first.threads, first.threads == 1 ? "" : "s",
                r.rounds, r.rounds == 1 ? "" : "s", args.seconds / r.rounds, r.runs[r.baseline].artifact.c_str(), first.vs_baseline.samples);
    std::printf("| artifact | mode | seq/s | speed-up | p50 ms | p99 ms | max abs error | argmax agreement |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    const double base_tp = r.runs[r.baseline].throughput;
    for (const BenchRun& run : r.runs)
      std::printf("| %s | %s | %.2f | %.2fx | %.2f | %.2f | %.3g | %.2f%% |\n", base_name(run.artifact).c_str(), run.precision.c_str(),
                  run.throughput, run.throughput / base_tp, run.latency_ms.p50, run.latency_ms.p99, run.vs_baseline.max_abs_error,
                  100 * run.vs_baseline.argmax_agreement);
  }
  if (!args.json.empty()) write_file_atomic(args.json, bench_json(r), "JSON file");
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
  cmd->add_flag("--engine", args->engine, "Time each call through the serving Engine (as kiln run and a server do), not a bare Session");
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
