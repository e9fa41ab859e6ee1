// kiln bench: throughput and latency of one artifact. The JSON it writes is documented in docs/cli.md
// and kept stable: other tools (bench/e2e/compare) read it.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/sample_inputs.h"
#include "kernels/isa.h"
#include "kiln/error.h"
#include "kiln/session.h"
#include "kiln/version.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

double percentile(std::vector<double> sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, idx == 0 ? 0 : idx - 1)];
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure throughput and latency of a compiled artifact");
  struct Args {
    std::string artifact, json;
    std::vector<std::string> inputs;
    double seconds = 10;
    int warmup = 3, threads = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  cmd->add_option("--seconds", args->seconds, "How long to measure, after warm-up (default 10)");
  cmd->add_option("--warmup", args->warmup, "Untimed runs first (default 3)");
  add_threads_option(cmd, args->threads);
  add_repeated_option(cmd, "-i,--input", args->inputs, "NAME=FILE.npy (default: generated from the compiled shapes)");
  cmd->add_option("--json", args->json, "Also write the results as JSON to this file");
  return [args]() {
    if (!(args->seconds > 0) || args->seconds > 86400) fail("--seconds must be in (0, 86400], got ", args->seconds);
    if (args->warmup < 0) fail("--warmup must be >= 0, got ", args->warmup);
    check_threads(args->threads);
    SessionOptions options;
    options.threads = args->threads;
    Session session(args->artifact, options);
    std::vector<NamedTensor> inputs = load_or_make_inputs(session, args->inputs);
    const nlohmann::json meta = nlohmann::json::parse(session.metadata_json());
    const int64_t batch = meta.at("options").value("batch", int64_t{0});
    const int64_t seq = meta.at("options").value("seq", int64_t{0});
    const int64_t seqs_per_call = batch > 0 ? batch : 1;

    std::vector<NamedTensor> outputs;
    for (int i = 0; i < args->warmup; ++i) session.run(inputs, outputs);
    using clock = std::chrono::steady_clock;
    std::vector<double> lat;
    const clock::time_point start = clock::now();
    double elapsed = 0;
    while (elapsed < args->seconds || lat.size() < 3) {
      const clock::time_point t0 = clock::now();
      session.run(inputs, outputs);
      const clock::time_point t1 = clock::now();
      lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      elapsed = std::chrono::duration<double>(t1 - start).count();
    }
    std::vector<double> sorted = lat;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double v : lat) sum += v;
    const double throughput = static_cast<double>(lat.size() * seqs_per_call) / elapsed;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;

    nlohmann::json j = {
        {"artifact", args->artifact},
        {"batch", batch},
        {"seq", seq},
        {"threads", session.threads()},
        {"precision", meta.at("options").value("precision", "fp32")},
        {"seconds", elapsed},
        {"iterations", lat.size()},
        {"warmup", args->warmup},
        {"throughput", throughput},
        {"latency_ms",
         {{"p50", percentile(sorted, 0.50)}, {"p90", percentile(sorted, 0.90)}, {"p99", percentile(sorted, 0.99)},
          {"max", sorted.back()}, {"min", sorted.front()}, {"mean", sum / static_cast<double>(lat.size())}}},
        {"peak_rss_mb", peak_rss_mb},
        {"options", meta.at("options")},
        {"kiln_version", version()},
        {"cpu_tier", kernels::isa_name(kernels::active_isa())},
    };
    std::printf("%s: batch %lld, seq %lld, %s, %d thread%s\n", args->artifact.c_str(), static_cast<long long>(batch),
                static_cast<long long>(seq), j["precision"].get<std::string>().c_str(), session.threads(),
                session.threads() == 1 ? "" : "s");
    std::printf("  %zu calls in %.2f s after %d warm-up calls\n", lat.size(), elapsed, args->warmup);
    std::printf("  throughput  %.2f sequences/s\n", throughput);
    std::printf("  latency ms  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (per call of batch %lld)\n",
                percentile(sorted, 0.5), percentile(sorted, 0.9), percentile(sorted, 0.99), sorted.back(),
                static_cast<long long>(seqs_per_call));
    std::printf("  peak RSS    %.0f MiB\n", peak_rss_mb);
    if (!args->json.empty()) write_file_atomic(args->json, j.dump(2) + "\n", "JSON file");
    return 0;
  };
}

}  // namespace kiln::cli
