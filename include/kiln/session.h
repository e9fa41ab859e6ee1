// Runtime: load a compiled artifact and run it.
//
//   kiln::SessionOptions options;
//   options.threads = 2;
//   kiln::Session session("model.kiln", options);
//   std::vector<kiln::NamedTensor> outputs = session.run({{"input_ids", ids}, {"attention_mask", mask}});
//
// The artifact is memory-mapped; weights are used in place (read-only, shared between sessions of
// the same process through the page cache). Activations live in one arena per session, allocated
// once at load. run() is thread-safe: concurrent calls on one session are serialised.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "kiln/tensor.h"

namespace kiln {

struct TensorSpec {
  std::string name;
  DType dtype;
  Dims dims;
};

struct SessionOptions {
  // Intra-op threads (OpenMP, also used by oneDNN). 0: one per CPU this process may run on.
  int threads = 0;
  // Pin thread i to the i-th CPU of `cpus` (default: of the process's affinity mask).
  bool pin_threads = true;
  // The core group this session runs on (see kiln/topology.h); empty: every CPU the process may use.
  // With threads = 0, one thread per CPU of the group.
  std::vector<int> cpus;
  // Artifacts compiled for several sequence lengths (`kiln compile --seq 32,64,128`) hold one plan per
  // length, ascending; a session runs one of them (the Engine routes requests between them).
  int seq_bucket = 0;
  // Record the wall time of every step (see Session::profile()).
  bool profile = false;
};

// One step of the compiled plan, with the time it took (summed over profiled runs).
struct StepProfile {
  std::string op;       // "MatMul", "FusedMatMul", "MultiHeadAttention", ...
  std::string name;     // source node name
  std::string kernel;   // kernel chosen on this CPU, e.g. "matmul_f32_onednn"
  std::string shapes;   // "f32[8,128,768], f32[768,768] -> f32[8,128,768]"
  double flops = 0;     // floating-point operations per call (multiply-add = 2)
  double ms = 0;        // total milliseconds over all profiled runs
  double last_start_ms = 0;  // in the most recent profiled run: start, relative to the run's start
  double last_ms = 0;        // and duration
};

class Model;

class Session {
 public:
  // Opens the artifact (one mapping of its own), or runs a Model opened before (its mapping shared with
  // every other session and engine on it; kiln/model.h).
  explicit Session(const std::string& artifact_path, const SessionOptions& options = {});
  explicit Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<TensorSpec>& inputs() const;
  const std::vector<TensorSpec>& outputs() const;
  // Threads the session runs with (after resolving 0).
  int threads() const;
  // The artifact's metadata section (JSON text): source model, compile options, inputs with their
  // detected roles ("token_ids" with "vocab_size", "attention_mask", "token_type_ids"), sizes.
  const std::string& metadata_json() const;
  const std::shared_ptr<const Model>& model() const;

  // Every model input exactly once, by name, with the compiled dims. Integer inputs are accepted as
  // i64 or i32. Throws kiln::Error naming the input and the expected/found dtype or shape.
  // Returns the model outputs in the artifact's output order.
  std::vector<NamedTensor> run(const std::vector<NamedTensor>& inputs);
  // The same, writing into `outputs`: when it already holds the model's outputs (as left by a previous
  // call) their buffers are reused, and a run allocates nothing (the steady state of a serving loop).
  void run(const std::vector<NamedTensor>& inputs, std::vector<NamedTensor>& outputs);

  // Per-step times accumulated over the runs made with SessionOptions::profile, in plan order; and
  // how many runs that was.
  std::vector<StepProfile> profile() const;
  int profiled_runs() const;

 private:
  friend class Engine;  // runs pipeline stages (step ranges) of a session
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
