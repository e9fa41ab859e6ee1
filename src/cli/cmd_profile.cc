// kiln profile: where the time goes, step by step, and a Chrome trace (opens in Perfetto).
#include <algorithm>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/sample_inputs.h"
#include "kiln/error.h"
#include "kiln/session.h"
#include "util/file.h"

namespace kiln::cli {

Command add_profile(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Per-step time table of a compiled artifact, and a Chrome trace");
  struct Args {
    std::string artifact, trace;
    std::vector<std::string> inputs;
    int iterations = 10, warmup = 2, threads = 0, top = 25;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  cmd->add_option("--iterations", args->iterations, "Profiled runs, averaged (default 10)");
  cmd->add_option("--warmup", args->warmup, "Unprofiled runs first (default 2)");
  add_threads_option(cmd, args->threads);
  add_wait_policy_option(cmd);
  cmd->add_option("--top", args->top, "Steps to list, slowest first (default 25; 0 = all)");
  cmd->add_option("--trace", args->trace, "Write the last run as a Chrome trace JSON (chrome://tracing, Perfetto)");
  add_repeated_option(cmd, "-i,--input", args->inputs, "NAME=FILE.npy (default: generated from the compiled shapes)");
  return [args]() {
    if (args->iterations <= 0) fail("--iterations must be positive, got ", args->iterations);
    check_threads(args->threads);
    if (args->warmup < 0 || args->top < 0) fail("--warmup and --top must be >= 0");
    SessionOptions warm_options;
    warm_options.threads = args->threads;
    {
      // Warm up in a session of its own so page faults and first-call setup stay out of the profile.
      Session warm(args->artifact, warm_options);
      std::vector<NamedTensor> inputs = load_or_make_inputs(warm, args->inputs);
      for (int i = 0; i < args->warmup; ++i) warm.run(inputs);
    }
    SessionOptions options = warm_options;
    options.profile = true;
    Session session(args->artifact, options);
    std::vector<NamedTensor> inputs = load_or_make_inputs(session, args->inputs);
    session.run(inputs);  // first call of this session: not profiled below
    std::vector<StepProfile> first = session.profile();
    for (int i = 0; i < args->iterations; ++i) session.run(inputs);
    std::vector<StepProfile> steps = session.profile();
    const double runs = args->iterations;
    double total = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      steps[i].ms = (steps[i].ms - first[i].ms) / runs;
      total += steps[i].ms;
    }
    std::printf("%s: %zu steps, %d thread%s, %.3f ms per run (mean of %d)\n\n", args->artifact.c_str(), steps.size(),
                session.threads(), session.threads() == 1 ? "" : "s", total, args->iterations);

    std::map<std::string, std::pair<int, double>> by_op;
    std::map<std::string, double> flops_by_op;
    for (const StepProfile& s : steps) {
      by_op[s.op].first++;
      by_op[s.op].second += s.ms;
      flops_by_op[s.op] += s.flops;
    }
    std::vector<std::pair<std::string, std::pair<int, double>>> ops(by_op.begin(), by_op.end());
    std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
    std::printf("%-24s %6s %10s %7s %10s\n", "op", "steps", "ms", "%", "GFLOP/s");
    for (const auto& [op, e] : ops)
      std::printf("%-24s %6d %10.3f %6.1f%% %10.1f\n", op.c_str(), e.first, e.second, 100.0 * e.second / total,
                  e.second > 0 ? flops_by_op[op] / (e.second * 1e6) : 0.0);

    std::vector<size_t> order(steps.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return steps[a].ms > steps[b].ms; });
    const size_t shown = args->top == 0 ? order.size() : std::min<size_t>(order.size(), args->top);
    std::printf("\n%5s  %-20s %-26s %9s %7s %9s  %s\n", "step", "op", "kernel", "ms", "%", "GFLOP/s", "node  (shapes)");
    for (size_t k = 0; k < shown; ++k) {
      const StepProfile& s = steps[order[k]];
      std::printf("%5zu  %-20s %-26s %9.3f %6.1f%% %9.1f  %s  (%s)\n", order[k], s.op.c_str(), s.kernel.c_str(), s.ms,
                  100.0 * s.ms / total, s.ms > 0 ? s.flops / (s.ms * 1e6) : 0.0, s.name.c_str(), s.shapes.c_str());
    }
    if (shown < order.size()) std::printf("  ... %zu more steps (--top 0 lists all)\n", order.size() - shown);

    if (!args->trace.empty()) {
      nlohmann::json events = nlohmann::json::array();
      for (size_t i = 0; i < steps.size(); ++i) {
        const StepProfile& s = steps[i];
        events.push_back({{"name", s.op}, {"cat", s.kernel}, {"ph", "X"}, {"ts", s.last_start_ms * 1000.0},
                          {"dur", s.last_ms * 1000.0}, {"pid", 1}, {"tid", 1},
                          {"args", {{"step", i}, {"node", s.name}, {"shapes", s.shapes}, {"kernel", s.kernel}}}});
      }
      nlohmann::json trace = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
      write_file_atomic(args->trace, trace.dump() + "\n", "trace file");
      std::printf("\ntrace of the last run: %s (open in https://ui.perfetto.dev or chrome://tracing)\n", args->trace.c_str());
    }
    return 0;
  };
}

}  // namespace kiln::cli
