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
#include "kiln/error.h"
#include "kiln/engine.h"
#include "kiln/npy.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/text.h"

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

// Text in, answer out (kiln/text.h): by the task the model was compiled for, labels with softmax scores
// (a classifier) or the vector (an embedding model).
int run_text(const std::string& artifact, const std::string& text, const std::string* pair, bool json, int threads) {
  EngineOptions options;
  options.core_groups = threads_core_groups(threads);
  Engine engine(Model::open(artifact), options);
  const ModelInfo& info = engine.model()->info();
  if (info.task == Task::classification || info.task == Task::pair_classification) {
    const Classification c = classify(engine, {text}, pair ? std::vector<std::string>{*pair} : std::vector<std::string>{})[0];
    if (json) {
      nlohmann::json scores = nlohmann::json::array();
      for (const LabelScore& s : c.scores) scores.push_back({{"label", s.label}, {"score", s.score}, {"logit", s.logit}});
      std::printf("%s\n", nlohmann::json({{"label", c.label}, {"scores", scores}, {"tokens", c.tokens}}).dump().c_str());
      return 0;
    }
    for (const LabelScore& s : c.scores) std::printf("%-16s %.4f\n", s.label.c_str(), s.score);
    return 0;
  }
  if (info.task == Task::token_classification)
    fail("kiln run --text does not label tokens yet (task token-classification): run it with --input files");
  if (pair) fail("--text-pair needs a sentence-pair classifier; '", artifact, "' is compiled for task ", task_name(info.task));
  const Embedding e = embed(engine, {text})[0];
  const int64_t n = static_cast<int64_t>(e.vector.size());
  if (json) return std::printf("%s\n", nlohmann::json({{"embedding", e.vector}, {"tokens", e.tokens}}).dump().c_str()), 0;
  std::printf("embedding (%lld values, %zu tokens):", static_cast<long long>(n), e.tokens);
  for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) std::printf(" %.5f", e.vector[i]);
  std::printf("%s\n", n > 8 ? " ..." : "");
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
  add_wait_policy_option(cmd);
  cmd->add_flag("--truncate", args->truncate, "Cut sequences longer than the longest compiled length instead of failing");
  return [args, text_opt]() {
    check_threads(args->threads);
    if (text_opt->count()) return run_text(args->artifact, args->text, args->pair.empty() ? nullptr : &args->pair, args->json, args->threads);
    if (args->output_dir.empty()) fail("give --output-dir DIR for the .npy outputs");
    const std::shared_ptr<const Model> model = Model::open(args->artifact);
    // A model folded entirely to constants takes no inputs; any other needs them.
    if (args->inputs.empty() && !model->info().inputs.empty())
      fail("give --input NAME=FILE.npy for each model input (or --text TEXT)");
    std::vector<NamedTensor> inputs = read_input_specs(args->inputs);
    make_dirs(args->output_dir);
    EngineOptions options;
    options.core_groups = threads_core_groups(args->threads);
    options.truncate = args->truncate;
    Engine engine(model, options);
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
