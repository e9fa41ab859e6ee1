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

// Rows [first, first + rows) of `t` along axis 0, padded up to `rows` by repeating its last row.
Tensor row_slice(const Tensor& t, int64_t first, int64_t rows) {
  Dims d = t.dims();
  const int64_t have = d[0], row_bytes = have ? static_cast<int64_t>(t.nbytes()) / have : 0;
  d[0] = rows;
  Tensor out(t.dtype(), d);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t src = std::min(first + r, have - 1);
    std::memcpy(static_cast<char*>(out.data()) + r * row_bytes, static_cast<const char*>(t.data()) + src * row_bytes, row_bytes);
  }
  return out;
}

// Runs inputs of N rows on an artifact compiled for batch B: ceil(N / B) calls (the last padded with
// copies of its final row) whose outputs are concatenated along axis 0 and cut back to N rows.
std::vector<NamedTensor> run_in_batches(Session& session, const std::vector<NamedTensor>& inputs) {
  const int64_t batch = session.inputs().at(0).dims.at(0);
  int64_t n = -1;
  for (const NamedTensor& in : inputs) {
    if (in.tensor.dims().empty()) return session.run(inputs);
    if (n >= 0 && in.tensor.dims()[0] != n) return session.run(inputs);  // let run() name the mismatch
    n = in.tensor.dims()[0];
  }
  if (n <= 0 || n == batch) return session.run(inputs);
  std::vector<NamedTensor> outputs;
  for (int64_t first = 0; first < n; first += batch) {
    std::vector<NamedTensor> chunk;
    for (const NamedTensor& in : inputs) chunk.push_back({in.name, row_slice(in.tensor, first, batch)});
    std::vector<NamedTensor> got = session.run(chunk);
    if (outputs.empty()) {
      for (const NamedTensor& o : got) {
        if (o.tensor.dims().empty() || o.tensor.dims()[0] != batch)
          fail("inputs have ", n, " rows but the artifact was compiled for batch ", batch, " and output '", o.name,
               "' has no batch axis to concatenate: give exactly ", batch, " rows");
        Dims d = o.tensor.dims();
        d[0] = n;
        outputs.push_back({o.name, Tensor(o.tensor.dtype(), d)});
      }
    }
    for (size_t i = 0; i < got.size(); ++i) {
      const int64_t rows = std::min(batch, n - first), row_bytes = static_cast<int64_t>(got[i].tensor.nbytes()) / batch;
      std::memcpy(static_cast<char*>(outputs[i].tensor.data()) + first * row_bytes, got[i].tensor.data(), rows * row_bytes);
    }
  }
  return outputs;
}

}  // namespace

Command add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a compiled artifact on .npy inputs, writing .npy outputs");
  cmd->footer("Inputs may hold any number of rows: they run in calls of the compiled batch size (the last one\n"
              "padded) and the outputs are concatenated.");
  struct Args {
    std::string artifact, output_dir;
    std::vector<std::string> inputs;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  add_repeated_option(cmd, "-i,--input", args->inputs,
                      "NAME=FILE.npy for each model input (int64 or int32 for ids); repeat per input")
      ->required();
  cmd->add_option("-d,--output-dir", args->output_dir, "Directory for <output name>.npy files")->required();
  add_threads_option(cmd, args->threads);
  return [args]() {
    check_threads(args->threads);
    std::vector<NamedTensor> inputs = read_input_specs(args->inputs);
    make_dirs(args->output_dir);
    SessionOptions options;
    options.threads = args->threads;
    Session session(args->artifact, options);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<NamedTensor> outputs = run_in_batches(session, inputs);
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
