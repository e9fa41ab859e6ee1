#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include "cli/commands.h"
#include "cli/npy.h"
#include "cli/sample_inputs.h"
#include "kiln/error.h"
#include "kiln/engine.h"
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

}  // namespace

Command add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a compiled artifact on .npy inputs, writing .npy outputs");
  cmd->footer("Inputs may hold any number of rows and, for artifacts with a sequence axis, any length up to\n"
              "the longest compiled one: they run on the serving engine (rows merged, padded or split into calls\n"
              "of the compiled batch; each length in the smallest sequence bucket that fits).");
  struct Args {
    std::string artifact, output_dir;
    std::vector<std::string> inputs;
    int threads = 0;
    bool truncate = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  add_repeated_option(cmd, "-i,--input", args->inputs,
                      "NAME=FILE.npy for each model input (int64 or int32 for ids); repeat per input")
      ->required();
  cmd->add_option("-d,--output-dir", args->output_dir, "Directory for <output name>.npy files")->required();
  add_threads_option(cmd, args->threads);
  cmd->add_flag("--truncate", args->truncate, "Cut sequences longer than the longest compiled length instead of failing");
  return [args]() {
    check_threads(args->threads);
    std::vector<NamedTensor> inputs = read_input_specs(args->inputs);
    make_dirs(args->output_dir);
    EngineOptions options;
    if (args->threads > 0) options.core_groups = {CoreGroup(allowed_cpus().begin(), allowed_cpus().begin() + std::min<size_t>(args->threads, allowed_cpus().size()))};
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
