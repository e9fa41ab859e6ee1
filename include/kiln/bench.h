// Measuring compiled models: what `kiln bench` prints, and what the Python package's kiln.bench returns.
//
//   kiln::BenchReport r = kiln::bench({"fp32.kiln", "int8.kiln"}, options);
//   r.runs[1].throughput;                  // sequences per second
//   r.runs[1].vs_baseline.max_abs_error;   // against the fp32 artifact, on the same inputs
//   std::string json = kiln::bench_json(r);  // the stable JSON of docs/cli.md
//
// Not for timed unit tests: the numbers depend on the machine and on what else runs on it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kiln/compiler.h"
#include "kiln/tensor.h"

namespace kiln {

struct LatencyStats {  // milliseconds per call
  double p50 = 0, p90 = 0, p99 = 0, max = 0, min = 0, mean = 0;
};

// ---- One session per artifact, calls back to back ----------------------------------------------------

struct BenchOptions {
  double seconds = 10;  // timed, per artifact (split over the rounds); in (0, 86400]
  int warmup = 3;       // untimed calls first
  int rounds = 0;       // interleaved rounds over the artifacts; 0: 1, or 3 with several artifacts
  int threads = 0;      // intra-op threads (0: one per allowed CPU)
  // Run each call through a serving Engine (one replica, Engine::run from one client thread: the path of
  // `kiln run` and the server) instead of a bare Session. One artifact only: engines of several at once
  // would compete for the cores with their OpenMP teams.
  bool engine = false;
  // Inputs by name; every input not given is generated (kiln/sample_inputs.h).
  std::vector<NamedTensor> inputs;
};

struct BenchRun {
  std::string artifact;
  std::string precision;         // as compiled: "fp32", "int8-dynamic", ...
  std::string options_json;      // the artifact's compile options (META "options")
  int64_t batch = 0, seq = 0;    // as compiled (0 when not given)
  int threads = 0;
  bool engine = false;           // measured through an Engine (BenchOptions::engine)
  size_t iterations = 0;
  double seconds = 0;            // timed wall time over all rounds
  double throughput = 0;         // sequences (rows) per second
  LatencyStats latency_ms;
  CompileReport::Verification vs_baseline;  // ran only with several artifacts
};

struct BenchReport {
  std::vector<BenchRun> runs;  // in the order given
  size_t baseline = 0;         // the first fp32 artifact, else the first
  int rounds = 1;
  int warmup = 0;
  double peak_rss_mb = 0;      // of the process, after the runs
  std::string cpu_tier;        // kernel_tier()
  std::string wait_policy;     // current_wait_policy()
};

// Runs every artifact on the same inputs in interleaved rounds (each at least 3 calls a round), then
// measures every one's accuracy against the baseline on those inputs plus three more generated batches
// (when none were given). Throws InvalidInputError for bad options, unreadable artifacts, or artifacts
// whose inputs differ (compare one model compiled for the same shapes).
BenchReport bench(const std::vector<std::string>& artifacts, const BenchOptions& options = {});

// The JSON of docs/cli.md: one artifact gives its run object, several {"runs", "baseline", "rounds"}.
std::string bench_json(const BenchReport& report);

// ---- The serving Engine under concurrent clients (sweeps) ----------------------------------------------

struct SweepOptions {
  std::vector<std::string> artifacts;
  std::vector<int> batch;        // rows per request; empty: the first artifact's compiled batch
  std::vector<int> instances = {1}, pipeline = {1}, concurrency = {1};
  int64_t max_delay_us = 0;      // dynamic batching: how long a worker waits to merge requests
  double seconds = 10;           // per configuration
  double cost_per_hour = 0.0765; // of the machine, in dollars (an on-demand 2-vCPU instance, docs/tuning.md)
  double latency_budget_ms = 0;  // 0: none
};

struct SweepRow {
  std::string artifact;
  int batch = 0, instances = 0, pipeline = 0, concurrency = 0;
  int64_t max_delay_us = 0;
  size_t requests = 0;
  double seconds = 0, throughput = 0, requests_per_s = 0;
  LatencyStats latency_ms;       // per request (p50, p90, p99 filled)
  double cpu_utilization = 0;    // process CPU time / (wall time x cores)
  double rss_mb = 0;
  uint64_t model_calls = 0;      // Engine calls, after merging and splitting
  double cost_per_million = 0;   // dollars per million sequences
  bool best = false;             // the highest throughput whose p99 fits the budget
};

struct SweepReport {
  std::vector<SweepRow> rows;
  int best = -1;                 // index into rows, -1 when none fits the budget
  int cores = 0;
  std::vector<std::string> skipped;  // placements that do not fit the cores, as sentences
  double cost_per_hour = 0, latency_budget_ms = 0, seconds = 0;
};

// Every combination of request batch, replicas, pipeline stages and client concurrency on one Engine per
// placement (instances x pipeline core groups that fit this process's cores). `progress` gets a line
// before each configuration. Throws InvalidInputError for bad options or when no placement fits.
SweepReport bench_sweep(const SweepOptions& options, const std::function<void(const std::string&)>& progress = {});

// {"rows", "cost_per_hour", "latency_budget_ms", "cores"} (docs/tuning.md).
std::string sweep_json(const SweepReport& report);

}  // namespace kiln
