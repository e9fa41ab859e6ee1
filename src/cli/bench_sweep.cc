#include "cli/bench_sweep.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/plot_png.h"
#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/stats.h"
#include "kiln/topology.h"
#include "kiln/sample_inputs.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

double cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double rss_mib() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// `rows` rows made by cycling the rows of the generated compiled-batch inputs.
std::vector<NamedTensor> request_of(const std::vector<NamedTensor>& sample, int64_t rows) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& s : sample) {
    Dims d = s.tensor.dims();
    const int64_t have = d[0], row_bytes = static_cast<int64_t>(s.tensor.nbytes()) / have;
    d[0] = rows;
    Tensor t(s.tensor.dtype(), d);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(t.data()) + r * row_bytes, static_cast<const char*>(s.tensor.data()) + (r % have) * row_bytes, row_bytes);
    out.push_back({s.name, std::move(t)});
  }
  return out;
}

void check_list(const char* flag, const std::vector<int>& v) {
  for (int x : v)
    if (x < 1) fail(flag, " values must be at least 1, got ", x);
}

}  // namespace

int run_bench_sweep(const SweepSpec& spec) {
  check_list("--batch", spec.batch);
  check_list("--instances", spec.instances);
  check_list("--pipeline", spec.pipeline);
  check_list("--concurrency", spec.concurrency);
  if (spec.max_delay_us < 0) fail("--max-delay-us must be >= 0, got ", spec.max_delay_us);
  if (!(spec.cost_per_hour >= 0)) fail("--cost-per-hour must be >= 0, got ", spec.cost_per_hour);
  if (!(spec.latency_budget_ms >= 0)) fail("--latency-budget-ms must be >= 0, got ", spec.latency_budget_ms);
  const int cores = static_cast<int>(allowed_cpus().size());
  // Placements that fit the machine: instances x pipeline core groups of at least one core each.
  std::vector<std::pair<int, int>> placements;
  for (int i : spec.instances)
    for (int p : spec.pipeline) {
      if (i * p <= cores) placements.emplace_back(i, p);
      else std::printf("skipping --instances %d x --pipeline %d: needs %d core groups, this process may use %d cores\n", i, p, i * p, cores);
    }
  if (placements.empty()) fail("no combination of --instances and --pipeline fits the ", cores, " cores this process may use");
  const size_t total = spec.artifacts.size() * spec.batch.size() * placements.size() * spec.concurrency.size();
  nlohmann::json rows = nlohmann::json::array();
  size_t n = 0;
  for (const std::string& art : spec.artifacts)
    for (const auto& [inst, pipe] : placements) {
        EngineOptions eo;
        eo.instances = inst;
        eo.pipeline_stages = pipe;
        eo.max_queue_delay_us = spec.max_delay_us;
        Engine engine(art, eo);
        const std::vector<NamedTensor> sample = make_sample_inputs(engine);
        for (int batch : spec.batch)
          for (int conc : spec.concurrency) {
            ++n;
            std::fprintf(stderr, "[%zu/%zu] %s batch %d, instances %d, pipeline %d, concurrency %d ...\n", n, total,
                         base_name(art).c_str(), batch, inst, pipe, conc);
            const std::vector<NamedTensor> request = request_of(sample, batch);
            for (int w = 0; w < std::max(1, inst); ++w) engine.run(request);  // warm every replica's pages
            std::vector<std::vector<double>> lat(conc);
            std::atomic<bool> stop{false};
            const double cpu0 = cpu_seconds();
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<std::thread> clients;
            for (int c = 0; c < conc; ++c)
              clients.emplace_back([&, c] {
                while (!stop.load()) {
                  const auto a = std::chrono::steady_clock::now();
                  engine.submit(request_of(request, batch)).get();
                  lat[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
                }
              });
            std::this_thread::sleep_for(std::chrono::duration<double>(spec.seconds));
            stop = true;
            for (std::thread& t : clients) t.join();
            const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double cpu = cpu_seconds() - cpu0;
            std::vector<double> all;
            for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
            const double throughput = static_cast<double>(all.size()) * batch / wall;
            nlohmann::json r = {
                {"artifact", art}, {"batch", batch}, {"instances", inst}, {"pipeline", pipe}, {"concurrency", conc},
                {"max_delay_us", spec.max_delay_us}, {"requests", all.size()}, {"seconds", wall},
                {"throughput", throughput}, {"requests_per_s", static_cast<double>(all.size()) / wall},
                {"latency_ms", {{"p50", percentile(all, 0.5)}, {"p90", percentile(all, 0.9)}, {"p99", percentile(all, 0.99)}}},
                {"cpu_utilization", cpu / (wall * cores)}, {"rss_mb", rss_mib()}, {"model_calls", engine.stats().calls},
                {"cost_per_million", throughput > 0 ? spec.cost_per_hour / (throughput * 3600.0) * 1e6 : 0.0},
            };
            rows.push_back(r);
          }
      }
  // The best row under the budget: highest throughput whose p99 fits.
  int best = -1;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double p99 = rows[i]["latency_ms"]["p99"].get<double>();
    if (spec.latency_budget_ms > 0 && p99 > spec.latency_budget_ms) continue;
    if (best < 0 || rows[i]["throughput"].get<double>() > rows[best]["throughput"].get<double>()) best = static_cast<int>(i);
  }
  for (size_t i = 0; i < rows.size(); ++i) rows[i]["best"] = static_cast<int>(i) == best;

  std::printf("sweep: %zu configurations, %.1f s each, %d cores; cost $%.4f per hour%s\n\n", rows.size(), spec.seconds, cores,
              spec.cost_per_hour, spec.latency_budget_ms > 0 ? str("; latency budget p99 <= ", spec.latency_budget_ms, " ms").c_str() : "");
  std::printf("| # | artifact | batch | instances | pipeline | concurrency | seq/s | p50 ms | p90 ms | p99 ms | CPU | RSS MiB | $ per 1M |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& r = rows[i];
    std::printf("| %zu%s | %s | %d | %d | %d | %d | %.2f | %.1f | %.1f | %.1f | %.0f%% | %.0f | %.3f |\n", i + 1,
                r["best"].get<bool>() ? " *" : "", base_name(r["artifact"].get<std::string>()).c_str(), r["batch"].get<int>(),
                r["instances"].get<int>(), r["pipeline"].get<int>(), r["concurrency"].get<int>(), r["throughput"].get<double>(),
                r["latency_ms"]["p50"].get<double>(), r["latency_ms"]["p90"].get<double>(), r["latency_ms"]["p99"].get<double>(),
                100 * r["cpu_utilization"].get<double>(), r["rss_mb"].get<double>(), r["cost_per_million"].get<double>());
  }
  if (best >= 0)
    std::printf("\n* best: row %d, %.2f seq/s at p99 %.1f ms%s\n", best + 1, rows[best]["throughput"].get<double>(),
                rows[best]["latency_ms"]["p99"].get<double>(), spec.latency_budget_ms > 0 ? " (within the budget)" : " (highest throughput; no budget given)");
  else
    std::printf("\nno configuration meets the latency budget of %.1f ms\n", spec.latency_budget_ms);
  if (!spec.json.empty())
    write_file_atomic(spec.json, nlohmann::json({{"rows", rows}, {"cost_per_hour", spec.cost_per_hour},
                                                 {"latency_budget_ms", spec.latency_budget_ms}, {"cores", cores}}).dump(2) + "\n",
                      "JSON file");
  if (!spec.csv.empty()) {
    std::string csv = "row,artifact,batch,instances,pipeline,concurrency,max_delay_us,throughput,p50_ms,p90_ms,p99_ms,cpu_utilization,rss_mb,cost_per_million,best\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const nlohmann::json& r = rows[i];
      csv += str(i + 1, ",", base_name(r["artifact"].get<std::string>()), ",", r["batch"].get<int>(), ",", r["instances"].get<int>(), ",",
                 r["pipeline"].get<int>(), ",", r["concurrency"].get<int>(), ",", r["max_delay_us"].get<int64_t>(), ",",
                 r["throughput"].get<double>(), ",", r["latency_ms"]["p50"].get<double>(), ",", r["latency_ms"]["p90"].get<double>(), ",",
                 r["latency_ms"]["p99"].get<double>(), ",", r["cpu_utilization"].get<double>(), ",", r["rss_mb"].get<double>(), ",",
                 r["cost_per_million"].get<double>(), ",", r["best"].get<bool>() ? 1 : 0, "\n");
    }
    write_file_atomic(spec.csv, csv, "CSV file");
  }
  if (!spec.plot.empty()) {
    std::vector<PlotPoint> pts;
    for (size_t i = 0; i < rows.size(); ++i)
      pts.push_back({rows[i]["latency_ms"]["p99"].get<double>(), rows[i]["throughput"].get<double>(), static_cast<int>(i + 1),
                     rows[i]["best"].get<bool>()});
    write_scatter_png(spec.plot, pts, "p99 latency (ms)", "throughput (seq/s)", spec.latency_budget_ms);
    std::printf("plot: %s (points numbered as the rows)\n", spec.plot.c_str());
  }
  return 0;
}

}  // namespace kiln::cli
