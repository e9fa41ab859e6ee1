// Ahead-of-time compilation: model file -> artifact (.kiln).
//
//   kiln::CompileOptions opts;
//   opts.batch = 8; opts.seq = 128;
//   kiln::CompileReport report = kiln::compile_file("model.onnx", "model.kiln", opts);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

struct CompileOptions {
  // Values for the symbolic dims of the model inputs. Axis 0 of every input is the batch dim and
  // axis 1 the sequence dim: a symbolic dim there takes `batch` / `seq`. Any other symbolic dim needs
  // an entry in `dims` (keyed by the ONNX dim_param). 0 means "not given".
  int64_t batch = 0;
  int64_t seq = 0;
  // Several sequence lengths (`--seq 32,64,128`): one plan per length in one artifact, the weights
  // shared; the runtime routes each request to the smallest that fits. Overrides `seq` when given.
  std::vector<int64_t> seq_buckets;
  // The token id the runtime pads token-id inputs with (the tokenizer's [PAD]: 0 for BERT, 1 for
  // RoBERTa); attention masks are padded with 0. -1: 0, or a Hugging Face folder's pad_token_id.
  int64_t pad_id = -1;
  // Input roles, overriding detection (by name and by the embedding table an input indexes): input name
  // -> token_ids | attention_mask | token_type_ids | other. The runtime pads by role.
  std::map<std::string, std::string> input_roles;
  // Text in, answers out: the tokenizer stored in the artifact (`kiln run --text`, `kiln eval`). A BERT
  // vocab.txt (with `lowercase`) or a Hugging Face tokenizer.json; and the names of the output classes.
  std::string vocab_file, tokenizer_file;
  bool lowercase = true;
  std::vector<std::string> labels;
  // What the model is for (kiln/model.h Task): classification, pair-classification, embedding,
  // token-classification or other; recorded in the artifact for the text front ends. Empty: from a
  // Hugging Face folder's architecture; for an ONNX file, classification when labels are given, else other.
  std::string task;
  std::map<std::string, int64_t> dims;
  // Graph inputs bound to constant values (`--constant-input NAME=FILE.npy`): each becomes an initializer
  // before shapes are bound, so folding sees its value (a Reshape target, Slice starts, Range limits...)
  // and the artifact no longer takes it as an input. Its dtype and shape must match the input's.
  std::map<std::string, Tensor> constant_inputs;
  // Run the fusion passes (attention, GEMM epilogues, LayerNorm, GELU). Off only to debug or compare.
  bool fuse = true;
  // Precision (docs/precision.md). auto_cast: "none" (fp32), "matmult" (GEMM inputs in cast_type,
  // fp32 accumulation and outputs) or "all" (every op with a low-precision kernel). cast_type: "bf16"
  // or "fp16". quantize: "none" or "int8" (GEMM weights per-channel, activations dynamic, or static
  // from calibration_file: JSON Lines, one object per sample mapping each model input to its ids).
  std::string auto_cast = "none";
  std::string cast_type = "bf16";
  std::string quantize = "none";
  std::string calibration_file;
  // After compiling, run the fp32 reference and the compiled model on sample inputs (the calibration
  // samples when given) and fail, writing nothing, when the max abs error exceeds `tolerance`.
  bool verify = false;
  double tolerance = 1e-2;
  // Cut the step list into this many pipeline stages of balanced estimated cost (0/1: no pipeline). The
  // runtime runs each stage on its own core group (kiln/engine.h).
  int pipeline_stages = 0;
  // Also return the optimised graph as text (CompileReport::ir_text), as `kiln compile --dump-ir` writes.
  bool keep_ir_text = false;
};

struct CompileReport {
  size_t source_nodes = 0;      // nodes in the ONNX graph, Constant nodes included
  size_t constant_nodes = 0;    // of which Constant nodes (read as constants, never run)
  size_t folded_nodes = 0;      // nodes evaluated at compile time (shape chains, constant math)
  size_t removed_nodes = 0;     // dead or no-op nodes removed (Identity, Dropout, unused)
  std::vector<std::pair<std::string, size_t>> fused;  // fused op -> how many were created
  size_t fused_away = 0;        // nodes the fusion stage removed
  size_t packed_weights = 0;    // weights stored pre-packed for this CPU's GEMM kernels
  size_t steps = 0;             // steps in the compiled plan
  size_t weight_bytes = 0;
  size_t arena_bytes = 0;       // planned activation memory
  size_t artifact_bytes = 0;
  double seconds = 0;           // wall time of import + passes + write
  std::string ir_text;          // the optimised graph, when CompileOptions::keep_ir_text
  std::string precision = "fp32";  // "fp32", "bf16-matmult", "bf16-all", "fp16-...", "int8-dynamic", "int8-static"
  size_t lowered_ops = 0;       // ops auto-cast runs in the low type
  size_t casts = 0;             // Cast steps it inserted
  size_t quantized_gemms = 0;   // GEMMs with int8 weights
  size_t calibration_samples = 0;
  std::vector<int64_t> seq_buckets;   // the compiled sequence lengths, ascending
  std::vector<size_t> stage_bounds;   // with pipeline_stages > 1: stage s runs steps [b[s], b[s+1])
  std::vector<double> stage_costs;    // estimated share of each stage
  // --verify: the compiled model against the fp32 reference on the same inputs.
  struct Verification {
    bool ran = false;
    size_t samples = 0;
    double max_abs_error = 0, max_rel_error = 0, min_cosine = 1, argmax_agreement = 1;
  } verification;
};

class Session;

// Runs both sessions on the same batches (each a full set of inputs with the sessions' shapes) and compares
// every f32 output of the same size: the largest absolute and relative error, the lowest cosine
// similarity, and how often the argmax over the last axis agrees. The measure `--verify` and
// `kiln bench a.kiln b.kiln` report. Throws what Session::run throws for bad batches.
CompileReport::Verification compare_sessions(Session& candidate, Session& reference,
                                             const std::vector<std::vector<NamedTensor>>& batches);

// Compiles the ONNX model at `model_path` (or the Hugging Face checkpoint folder there: config.json,
// model.safetensors, vocab.txt / tokenizer.json; see src/frontend/hf_import.h) and writes the artifact to `artifact_path` (written to a
// temporary file and renamed, so a failed compile never leaves a partial artifact).
// Throws kiln::Error on any problem (unsupported ops are all listed at once).
CompileReport compile_file(const std::string& model_path, const std::string& artifact_path,
                           const CompileOptions& options);

// Operator support of a model, before compiling.
struct OpSupport {
  std::string op;                 // "MatMul", or "domain::Op" for non-default domains
  size_t count = 0;
  bool supported = false;
  std::vector<std::string> nodes; // node names (all of them)
};
struct AnalysisReport {
  std::string producer;           // e.g. "pytorch 1.13.1"
  int64_t opset = 0;
  std::vector<OpSupport> ops;     // sorted by op name
  std::vector<std::string> inputs;   // "input_ids: i64[batch,sequence]"
  std::vector<std::string> outputs;
  size_t initializers = 0;
  size_t parameter_count = 0;
  bool all_supported() const;
  size_t unsupported_types() const;  // op types without a kernel
  size_t unsupported_nodes() const;  // nodes of those types
};
AnalysisReport analyze_file(const std::string& model_path);
// The report as the table `kiln analyze` prints (and Python's kiln.torch.analyze), headed by `model_name`;
// and as the JSON of `kiln analyze --json` (docs/cli.md), which Python's kiln.analyze returns as a dict.
std::string analysis_table(const AnalysisReport& report, const std::string& model_name);
std::string analysis_json(const AnalysisReport& report, const std::string& model_name);

}  // namespace kiln
