// kiln eval: accuracy and speed of a text classifier on a labelled TSV in one report (the seed's
// benchmark script in one command): accuracy, F1 (binary and macro), the confusion matrix, and latency
// p50/p99 per call and throughput.
#include <stdexcept>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/text_model.h"
#include "kiln/error.h"
#include "kiln/stats.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

struct Row {
  std::string text, pair;
  int64_t label = 0;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// A column given by name (with a header) or 0-based index; -1 when `spec` is empty.
int column_of(const std::string& spec, const std::vector<std::string>& header, const std::string& path, const char* flag) {
  if (spec.empty()) return -1;
  if (is_integer(spec)) return std::stoi(spec);
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == spec) return static_cast<int>(i);
  std::string names;
  for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
  fail(path, ": ", flag, " '", spec, "' is not a column", header.empty() ? " (the file has no header: give an index)" : " (columns: " + names + ")");
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Accuracy, F1, confusion matrix, latency and throughput on a labelled TSV");
  struct Args {
    std::string artifact, data, text_col, pair_col, label_col, header = "auto", json;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln classifier with a tokenizer")->required();
  cmd->add_option("--data", args->data, "Tab-separated file: a label column and one or two text columns")->required();
  cmd->add_option("--text-column", args->text_col, "Text column, by header name or 0-based index (default: the first non-label column)");
  cmd->add_option("--pair-column", args->pair_col, "Second text column for sentence pairs (default: the second non-label column, if any)");
  cmd->add_option("--label-column", args->label_col, "Integer label column (default: 'label', else column 0)");
  cmd->add_option("--header", args->header, "auto (a first line whose label is not an integer), yes or no");
  cmd->add_option("--json", args->json, "Also write the report as JSON to this file");
  add_threads_option(cmd, args->threads);
  return [args]() {
    check_threads(args->threads);
    if (args->header != "auto" && args->header != "yes" && args->header != "no") fail("--header must be auto, yes or no, got '", args->header, "'");
    const TextModel tm = load_text_model(args->artifact);
    std::ifstream f(args->data);
    if (!f) fail("cannot read '", args->data, "': ", std::strerror(errno));
    std::vector<std::vector<std::string>> lines;
    for (std::string line; std::getline(f, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(split_tabs(line));
    }
    if (lines.empty()) fail("'", args->data, "' is empty");
    // Header: explicit, or a first line whose label field is not an integer.
    std::vector<std::string> header;
    int label = column_of(args->label_col, lines[0], args->data, "--label-column");
    bool has_header = args->header == "yes";
    if (args->header == "auto") {
      int probe = label >= 0 ? label : 0;
      if (label < 0)
        for (size_t i = 0; i < lines[0].size(); ++i)
          if (lines[0][i] == "label") probe = static_cast<int>(i);
      has_header = probe >= static_cast<int>(lines[0].size()) || !is_integer(lines[0][probe]);
    }
    if (has_header) header = lines[0];
    if (label < 0) {
      label = 0;
      for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == "label") label = static_cast<int>(i);
    }
    int text = column_of(args->text_col, header, args->data, "--text-column");
    int pair = column_of(args->pair_col, header, args->data, "--pair-column");
    const size_t width = lines[has_header ? std::min<size_t>(1, lines.size() - 1) : 0].size();
    std::vector<int> others;
    for (int i = 0; i < static_cast<int>(std::max(width, header.size())); ++i)
      if (i != label) others.push_back(i);
    if (text < 0) text = others.empty() ? 1 : others[0];
    if (pair < 0 && args->pair_col.empty() && others.size() >= 2 && others[1] != text) pair = others[1];
    const int need = std::max({label, text, pair}) + 1;
    std::vector<Row> rows;
    for (size_t i = has_header ? 1 : 0; i < lines.size(); ++i) {
      const std::vector<std::string>& c = lines[i];
      if (c.size() == 1 && c[0].empty()) continue;  // blank line
      if (static_cast<int>(c.size()) < need)
        fail(args->data, ":", i + 1, ": expected at least ", need, " tab-separated columns, found ", c.size());
      if (!is_integer(c[label])) fail(args->data, ":", i + 1, ": label '", c[label], "' is not an integer");
      int64_t value = 0;
      try {
        value = std::stoll(c[label]);
      } catch (const std::out_of_range&) {
        fail(args->data, ":", i + 1, ": label '", c[label], "' is out of range");
      }
      rows.push_back({c[text], pair >= 0 ? c[pair] : "", value});
    }
    if (rows.empty()) fail("'", args->data, "' has no rows");

    EngineOptions options;
    options.core_groups = threads_core_groups(args->threads);
    Engine engine(tm.model, options);  // the model mapped once, for the tokenizer and the engine
    const int64_t batch = engine.compiled_batch();
    std::vector<int64_t> pred;
    std::vector<double> call_ms;
    int64_t classes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t first = 0; first < rows.size(); first += batch) {
      const size_t n = std::min<size_t>(batch, rows.size() - first);
      std::vector<Encoding> enc;
      for (size_t i = first; i < first + n; ++i) {
        try {
          enc.push_back(tm.tokenizer.encode(rows[i].text, pair >= 0 ? &rows[i].pair : nullptr, tm.max_length, false));
        } catch (const Error& e) {
          fail(args->data, ":", i + 1 + (has_header ? 1 : 0), ": ", e.what());
        }
      }
      const auto a = std::chrono::steady_clock::now();
      const std::vector<NamedTensor> out = engine.run(inputs_for(tm, engine, enc));
      call_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
      const Tensor& y = out.at(0).tensor;
      if (y.dims().size() != 2) fail("output '", out[0].name, "' is ", dims_to_string(y.dims()), ": eval expects a [rows, classes] classifier output");
      classes = y.dims()[1];
      for (size_t r = 0; r < n; ++r) {
        const float* x = y.data_as<float>() + r * classes;
        pred.push_back(std::max_element(x, x + classes) - x);
      }
      if ((first / batch) % 20 == 19) std::fprintf(stderr, "  %zu / %zu\n", first + n, rows.size());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t i = 0; i < rows.size(); ++i)
      if (rows[i].label < 0 || rows[i].label >= classes)
        fail(args->data, ": label ", rows[i].label, " is outside the model's ", classes, " classes");
    std::vector<std::vector<int64_t>> confusion(classes, std::vector<int64_t>(classes, 0));  // [true][pred]
    int64_t correct = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      ++confusion[rows[i].label][pred[i]];
      correct += rows[i].label == pred[i];
    }
    std::vector<double> f1(classes);
    for (int64_t c = 0; c < classes; ++c) {
      int64_t tp = confusion[c][c], fp = 0, fn = 0;
      for (int64_t o = 0; o < classes; ++o)
        if (o != c) fp += confusion[o][c], fn += confusion[c][o];
      f1[c] = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
    }
    double macro = 0;
    for (double v : f1) macro += v / static_cast<double>(classes);
    auto name = [&](int64_t c) { return c < static_cast<int64_t>(tm.labels.size()) ? tm.labels[c] : "LABEL_" + std::to_string(c); };
    const double accuracy = static_cast<double>(correct) / static_cast<double>(rows.size());
    std::printf("%s on %s: %zu examples%s\n", base_name(args->artifact).c_str(), base_name(args->data).c_str(), rows.size(),
                pair >= 0 ? " (sentence pairs)" : "");
    std::printf("  accuracy     %.4f (%lld / %zu)\n", accuracy, static_cast<long long>(correct), rows.size());
    if (classes == 2) std::printf("  F1 (binary)  %.4f (positive class %s)\n", f1[1], name(1).c_str());
    std::printf("  F1 (macro)   %.4f\n", macro);
    std::printf("  confusion    rows = true label, columns = predicted\n");
    std::printf("  %16s", "");
    for (int64_t c = 0; c < classes; ++c) std::printf(" %10s", name(c).c_str());
    std::printf("\n");
    for (int64_t t = 0; t < classes; ++t) {
      std::printf("  %16s", name(t).c_str());
      for (int64_t c = 0; c < classes; ++c) std::printf(" %10lld", static_cast<long long>(confusion[t][c]));
      std::printf("\n");
    }
    std::printf("  latency      p50 %.2f ms, p99 %.2f ms per call of up to %lld (tokenisation excluded)\n", percentile(call_ms, 0.5),
                percentile(call_ms, 0.99), static_cast<long long>(batch));
    std::printf("  throughput   %.1f examples/s (tokenisation included)\n", static_cast<double>(rows.size()) / seconds);
    if (!args->json.empty()) {
      nlohmann::json j = {{"examples", rows.size()}, {"accuracy", accuracy}, {"f1_macro", macro}, {"f1", f1}, {"confusion", confusion},
                          {"latency_ms", {{"p50", percentile(call_ms, 0.5)}, {"p99", percentile(call_ms, 0.99)}}},
                          {"throughput", static_cast<double>(rows.size()) / seconds}, {"batch", batch}};
      if (classes == 2) j["f1_binary"] = f1[1];
      write_file_atomic(args->json, j.dump(2) + "\n", "JSON file");
    }
    return 0;
  };
}

}  // namespace kiln::cli
