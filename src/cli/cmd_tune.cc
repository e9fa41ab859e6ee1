// kiln tune: chooses a serving configuration for one model under a p99 latency budget. It runs the
// `kiln bench` sweep (kiln::bench_sweep: the serving Engine under concurrent clients) over replicas,
// pipeline stages and batching delays at the expected concurrency and request size, prints every
// configuration, and writes the fastest one whose p99 fits as a `kiln serve --config` file.
#include <algorithm>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/bench_sweep.h"
#include "cli/commands.h"
#include "kiln/bench.h"
#include "kiln/error.h"
#include "kiln/model.h"

namespace kiln::cli {
namespace {

struct TuneArgs {
  std::string artifact, out = "serve-config.json", delays = "0,1000,4000", instances = "1,2", pipeline = "1,2";
  double p99_ms = 0, seconds = 5;
  int concurrency = 16, rows = 1;
};

int tune(const TuneArgs& a) {
  if (!(a.p99_ms > 0)) fail("--p99-ms must be > 0, got ", a.p99_ms);
  require_positive("--concurrency", a.concurrency);
  require_positive("--rows", a.rows);
  if (!(a.seconds > 0)) fail("--seconds must be > 0, got ", a.seconds);
  const std::vector<int64_t> delays = parse_int_list<int64_t>("--delays", a.delays);
  if (delays.empty()) fail("--delays needs at least one value");
  for (int64_t d : delays)
    if (d < 0) fail("--delays must be >= 0, got ", d);
  SweepReport all;
  for (int64_t delay : delays) {
    SweepOptions o;
    o.artifacts = {a.artifact};
    o.batch = {a.rows};
    o.instances = parse_int_list<int>("--instances", a.instances);
    o.pipeline = parse_int_list<int>("--pipeline", a.pipeline);
    o.concurrency = {a.concurrency};
    o.max_delay_us = delay;
    o.seconds = a.seconds;
    o.latency_budget_ms = a.p99_ms;
    SweepReport r = bench_sweep(o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    if (all.rows.empty()) all = r, all.rows.clear(), all.best = -1;
    for (SweepRow& row : r.rows) all.rows.push_back(row);
  }
  // The best over every delay: the highest throughput whose p99 fits.
  for (size_t i = 0; i < all.rows.size(); ++i) {
    all.rows[i].best = false;
    if (all.rows[i].latency_ms.p99 <= a.p99_ms && (all.best < 0 || all.rows[i].throughput > all.rows[all.best].throughput))
      all.best = static_cast<int>(i);
  }
  if (all.best >= 0) all.rows[all.best].best = true;
  print_sweep(all, "", "", "");
  if (all.best < 0) {
    const auto fastest = std::min_element(all.rows.begin(), all.rows.end(), [](const SweepRow& x, const SweepRow& y) {
      return x.latency_ms.p99 < y.latency_ms.p99;
    });
    fail("no configuration keeps p99 within ", a.p99_ms, " ms at concurrency ", a.concurrency, "; the lowest p99 was ",
         fastest->latency_ms.p99, " ms (", fastest->instances, " instance(s), ", fastest->pipeline, " stage(s), delay ",
         fastest->max_delay_us, " us): raise the budget, lower the concurrency, or compile a smaller batch");
  }
  const SweepRow& b = all.rows[all.best];
  // The sweep's Engines merge requests up to the compiled batch: that is the max batch measured.
  const int64_t max_batch = std::max<int64_t>(Model::open(a.artifact)->info().batch, 1);
  const nlohmann::json config = {{"instances", b.instances}, {"pipeline", b.pipeline}, {"max_batch", max_batch},
                                 {"max_batch_delay_us", b.max_delay_us}};
  std::ofstream f(a.out);
  if (!f) fail("cannot write '", a.out, "'");
  f << config.dump(2) << "\n";
  if (!f) fail("cannot write '", a.out, "'");
  std::printf("\nbest under p99 %.1f ms at concurrency %d: %d instance(s), %d stage(s), delay %lld us: %.1f seq/s, p99 %.1f ms\n"
              "wrote %s (kiln serve %s --config %s)\n",
              a.p99_ms, a.concurrency, b.instances, b.pipeline, static_cast<long long>(b.max_delay_us), b.throughput,
              b.latency_ms.p99, a.out.c_str(), a.artifact.c_str(), a.out.c_str());
  return 0;
}

}  // namespace

Command add_tune(CLI::App& app) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Choose replicas, pipeline stages and batching delay for kiln serve under a p99 budget; writes a --config file");
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  cmd->add_option("--p99-ms", args->p99_ms, "The latency budget: p99 per request, in ms")->required();
  cmd->add_option("--concurrency", args->concurrency, "Clients sending requests at once (default 16)");
  cmd->add_option("--rows", args->rows, "Rows per request (default 1: one sentence each)");
  cmd->add_option("--seconds", args->seconds, "How long to measure each configuration (default 5)");
  cmd->add_option("--delays", args->delays, "Batching delays to try, in us, comma-separated (default 0,1000,4000)");
  cmd->add_option("--instances", args->instances, "Replica counts to try (default 1,2)");
  cmd->add_option("--pipeline", args->pipeline, "Pipeline stage counts to try (default 1,2)");
  cmd->add_option("-o,--out", args->out, "Where to write the configuration (default serve-config.json)");
  return [args]() { return tune(*args); };
}

}  // namespace kiln::cli
