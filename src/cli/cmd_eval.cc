// kiln eval: accuracy and speed of a text classifier on a labelled TSV in one report: accuracy, F1
// (binary and macro), the confusion matrix, and latency p50/p99 per call and throughput. The reading and
// the measuring are the library's (kiln/labeled_data.h, kiln/evaluate.h); this file parses flags and prints.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kiln/error.h"
#include "kiln/evaluate.h"
#include "kiln/labeled_data.h"
#include "kiln/stats.h"
#include "kiln/text.h"
#include "kiln/topology.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

void print_report(const EvalReport& r, const std::string& artifact, const std::string& data) {
  std::printf("%s on %s: %zu examples%s\n", base_name(artifact).c_str(), base_name(data).c_str(), r.examples,
              r.pairs ? " (sentence pairs)" : "");
  std::printf("  accuracy     %.4f (%lld / %zu)\n", r.accuracy, static_cast<long long>(r.correct), r.examples);
  if (r.classes == 2) std::printf("  F1 (binary)  %.4f (positive class %s)\n", r.f1[1], r.class_names[1].c_str());
  std::printf("  F1 (macro)   %.4f\n", r.f1_macro);
  std::printf("  confusion    rows = true label, columns = predicted\n");
  std::printf("  %16s", "");
  for (const std::string& name : r.class_names) std::printf(" %10s", name.c_str());
  std::printf("\n");
  for (int64_t t = 0; t < r.classes; ++t) {
    std::printf("  %16s", r.class_names[t].c_str());
    for (int64_t c = 0; c < r.classes; ++c) std::printf(" %10lld", static_cast<long long>(r.confusion[t][c]));
    std::printf("\n");
  }
  std::printf("  latency      p50 %.2f ms, p99 %.2f ms per call of up to %lld (tokenisation excluded)\n",
              percentile(r.call_ms, 0.5), percentile(r.call_ms, 0.99), static_cast<long long>(r.batch));
  std::printf("  throughput   %.1f examples/s (tokenisation included)\n", static_cast<double>(r.examples) / r.seconds);
}

nlohmann::json report_json(const EvalReport& r) {
  nlohmann::json j = {{"examples", r.examples},
                      {"accuracy", r.accuracy},
                      {"f1_macro", r.f1_macro},
                      {"f1", r.f1},
                      {"confusion", r.confusion},
                      {"latency_ms", {{"p50", percentile(r.call_ms, 0.5)}, {"p99", percentile(r.call_ms, 0.99)}}},
                      {"throughput", static_cast<double>(r.examples) / r.seconds},
                      {"batch", r.batch}};
  if (r.classes == 2) j["f1_binary"] = r.f1[1];
  return j;
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Accuracy, F1, confusion matrix, latency and throughput on a labelled TSV");
  struct Args {
    std::string artifact, data, json;
    LabeledColumns columns;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln classifier with a tokenizer")->required();
  cmd->add_option("--data", args->data, "Tab-separated file: a label column and one or two text columns")->required();
  cmd->add_option("--text-column", args->columns.text, "Text column, by header name or 0-based index (default: the first non-label column)");
  cmd->add_option("--pair-column", args->columns.pair, "Second text column for sentence pairs (default: the second non-label column, if any)");
  cmd->add_option("--label-column", args->columns.label, "Integer label column (default: 'label', else column 0)");
  cmd->add_option("--header", args->columns.header, "auto (a first line whose label is not an integer), yes or no");
  cmd->add_option("--json", args->json, "Also write the report as JSON to this file");
  add_threads_option(cmd, args->threads);
  add_wait_policy_option(cmd);
  return [args]() {
    check_threads(args->threads);
    if (args->columns.header != "auto" && args->columns.header != "yes" && args->columns.header != "no")
      fail("--header must be auto, yes or no, got '", args->columns.header, "'");
    const std::shared_ptr<const Model> model = Model::open(args->artifact);
    tokenizer_of(*model);  // a model without one is refused before the data is read
    const LabeledData data = read_labeled_tsv(args->data, args->columns);
    EngineOptions options;
    options.core_groups = threads_core_groups(args->threads);
    Engine engine(model, options);
    const EvalReport r = evaluate(engine, data, [](size_t done, size_t total) {
      static size_t calls = 0;
      if (++calls % 20 == 0) std::fprintf(stderr, "  %zu / %zu\n", done, total);
    });
    print_report(r, args->artifact, args->data);
    if (!args->json.empty()) write_file_atomic(args->json, report_json(r).dump(2) + "\n", "JSON file");
    return 0;
  };
}

}  // namespace kiln::cli
