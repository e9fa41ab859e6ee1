#include "cli/bench_sweep.h"

#include <cstdio>

#include "cli/commands.h"
#include "cli/plot_png.h"
#include "kiln/error.h"
#include "util/file.h"

namespace kiln::cli {

void print_sweep(const SweepReport& r, const std::string& json, const std::string& csv, const std::string& plot) {
  for (const std::string& s : r.skipped) std::printf("skipping %s\n", s.c_str());
  std::printf("sweep: %zu configurations, %.1f s each, %d cores; cost $%.4f per hour%s\n\n", r.rows.size(), r.seconds, r.cores,
              r.cost_per_hour, r.latency_budget_ms > 0 ? str("; latency budget p99 <= ", r.latency_budget_ms, " ms").c_str() : "");
  std::printf("| # | artifact | batch | instances | pipeline | concurrency | seq/s | p50 ms | p90 ms | p99 ms | CPU | RSS MiB | $ per 1M |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const SweepRow& x = r.rows[i];
    std::printf("| %zu%s | %s | %d | %d | %d | %d | %.2f | %.1f | %.1f | %.1f | %.0f%% | %.0f | %.3f |\n", i + 1, x.best ? " *" : "",
                base_name(x.artifact).c_str(), x.batch, x.instances, x.pipeline, x.concurrency, x.throughput, x.latency_ms.p50,
                x.latency_ms.p90, x.latency_ms.p99, 100 * x.cpu_utilization, x.rss_mb, x.cost_per_million);
  }
  if (r.best >= 0)
    std::printf("\n* best: row %d, %.2f seq/s at p99 %.1f ms%s\n", r.best + 1, r.rows[r.best].throughput, r.rows[r.best].latency_ms.p99,
                r.latency_budget_ms > 0 ? " (within the budget)" : " (highest throughput; no budget given)");
  else
    std::printf("\nno configuration meets the latency budget of %.1f ms\n", r.latency_budget_ms);
  if (!json.empty()) write_file_atomic(json, sweep_json(r), "JSON file");
  if (!csv.empty()) {
    std::string text = "row,artifact,batch,instances,pipeline,concurrency,max_delay_us,throughput,p50_ms,p90_ms,p99_ms,cpu_utilization,rss_mb,cost_per_million,best\n";
    for (size_t i = 0; i < r.rows.size(); ++i) {
      const SweepRow& x = r.rows[i];
      text += str(i + 1, ",", base_name(x.artifact), ",", x.batch, ",", x.instances, ",", x.pipeline, ",", x.concurrency, ",",
                  x.max_delay_us, ",", x.throughput, ",", x.latency_ms.p50, ",", x.latency_ms.p90, ",", x.latency_ms.p99, ",",
                  x.cpu_utilization, ",", x.rss_mb, ",", x.cost_per_million, ",", x.best ? 1 : 0, "\n");
    }
    write_file_atomic(csv, text, "CSV file");
  }
  if (!plot.empty()) {
    std::vector<PlotPoint> pts;
    for (size_t i = 0; i < r.rows.size(); ++i)
      pts.push_back({r.rows[i].latency_ms.p99, r.rows[i].throughput, static_cast<int>(i + 1), r.rows[i].best});
    write_scatter_png(plot, pts, "p99 latency (ms)", "throughput (seq/s)", r.latency_budget_ms);
    std::printf("plot: %s (points numbered as the rows)\n", plot.c_str());
  }
}

}  // namespace kiln::cli
