#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/sample_inputs.h"
#include "cli/text_model.h"
#include "kiln/error.h"
#include "kiln/engine.h"
#include "kiln/npy.h"
#include "kiln/session.h"

namespace kiln::cli {
namespace {

// mkdir -p with an error that names the path and the reason.
void make_dirs(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    struct stat st;
    if (stat(partial.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        fail("cannot create output directory '", path, "': '", partial, "' exists and is not a directory");
      continue;
    }
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      fail("cannot create output directory '", path, "': ", std::strerror(errno));
  }
  if (access(path.c_str(), W_OK) != 0) fail("output directory '", path, "' is not writable: ", std::strerror(errno));
}

// Text in, answer out: tokenize with the artifact's tokenizer, run, and print labels with softmax scores
// (a classifier: a [1, classes] output) or the vector (an embedding model).
int run_text(const std::string& artifact, const std::string& text, const std::string* pair, bool json, int threads) {
  const TextModel tm = load_text_model(artifact);
  EngineOptions options;
  options.core_groups = threads_core_groups(threads);
  Engine engine(artifact, options);
  const Encoding e = tm.tokenizer.encode(text, pair, tm.max_length, false);
  const std::vector<NamedTensor> out = engine.run(inputs_for(tm, engine, {e}));
  const Tensor& y = out.at(0).tensor;
  if (y.dtype() != DType::f32 || y.dims().size() != 2) fail("output '", out[0].name, "' is ", dims_to_string(y.dims()), ": --text expects a [rows, n] output");
  const int64_t n = y.dims()[1];
  const bool classifier = !tm.labels.empty() || n <= 32;
  if (!classifier) {
    nlohmann::json v = nlohmann::json::array();
    for (int64_t i = 0; i < n; ++i) v.push_back(y.data_as<float>()[i]);
    if (json) return std::printf("%s\n", nlohmann::json({{"embedding", v}, {"tokens", e.tokens.size()}}).dump().c_str()), 0;
    std::printf("embedding (%lld values, %zu tokens):", static_cast<long long>(n), e.tokens.size());
    for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) std::printf(" %.5f", y.data_as<float>()[i]);
    std::printf("%s\n", n > 8 ? " ..." : "");
    return 0;
  }
  const std::vector<double> p = softmax_rows(y)[0];
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  auto label = [&](int64_t i) { return i < static_cast<int64_t>(tm.labels.size()) ? tm.labels[i] : "LABEL_" + std::to_string(i); };
  if (json) {
    nlohmann::json scores = nlohmann::json::array();
    for (int64_t i : order) scores.push_back({{"label", label(i)}, {"score", p[i]}, {"logit", y.data_as<float>()[i]}});
    std::printf("%s\n", nlohmann::json({{"label", label(order[0])}, {"scores", scores}, {"tokens", e.tokens.size()}}).dump().c_str());
    return 0;
  }
  for (int64_t i : order) std::printf("%-16s %.4f\n", label(i).c_str(), p[i]);
  return 0;
}

}  // namespace

Command add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a compiled artifact on .npy inputs (writing .npy outputs) or on a text");
  cmd->footer("Inputs may hold any number of rows and, for artifacts with a sequence axis, any length up to\n"
              "the longest compiled one: they run on the serving engine (rows merged, padded or split into calls\n"
              "of the compiled batch; each length in the smallest sequence bucket that fits).");
  struct Args {
    std::string artifact, output_dir, text, pair;
    std::vector<std::string> inputs;
    int threads = 0;
    bool truncate = false, json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  add_repeated_option(cmd, "-i,--input", args->inputs,
                      "NAME=FILE.npy for each model input (int64 or int32 for ids); repeat per input");
  cmd->add_option("-d,--output-dir", args->output_dir, "Directory for <output name>.npy files");
  CLI::Option* text_opt = cmd->add_option("--text", args->text, "Run on this text (the artifact's tokenizer): labels with scores, or the embedding");
  cmd->add_option("--text-pair", args->pair, "A second text, for sentence-pair models");
  cmd->add_flag("--json", args->json, "With --text: print the result as JSON");
  add_threads_option(cmd, args->threads);
  cmd->add_flag("--truncate", args->truncate, "Cut sequences longer than the longest compiled length instead of failing");
  return [args, text_opt]() {
    check_threads(args->threads);
    if (text_opt->count()) return run_text(args->artifact, args->text, args->pair.empty() ? nullptr : &args->pair, args->json, args->threads);
    if (args->inputs.empty()) fail("give --input NAME=FILE.npy for each model input (or --text TEXT)");
    if (args->output_dir.empty()) fail("give --output-dir DIR for the .npy outputs");
    std::vector<NamedTensor> inputs = read_input_specs(args->inputs);
    make_dirs(args->output_dir);
    EngineOptions options;
    options.core_groups = threads_core_groups(args->threads);
    options.truncate = args->truncate;
    Engine engine(args->artifact, options);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<NamedTensor> outputs = engine.run(inputs);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (const NamedTensor& o : outputs) {
      // Output names come from the model; keep them inside the output directory.
      std::string file = o.name;
      for (char& c : file)
        if (c == '/' || c == '\\') c = '_';
      std::string path = args->output_dir + "/" + file + ".npy";
      write_npy(path, o.tensor);
      std::printf("wrote %s  %s%s\n", path.c_str(), dtype_name(o.tensor.dtype()), dims_to_string(o.tensor.dims()).c_str());
    }
    std::printf("ran %s in %.1f ms\n", args->artifact.c_str(), ms);
    return 0;
  };
}

}  // namespace kiln::cli
