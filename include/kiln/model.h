// A compiled model, opened once: the artifact's one memory mapping (checked once) and its metadata,
// parsed once into a typed ModelInfo. Sessions and engines share it, so replicas, pipeline slots and
// sequence buckets never map or checksum the file again.
//
//   std::shared_ptr<const kiln::Model> model = kiln::Model::open("model.kiln");
//   const kiln::ModelInfo& info = model->info();       // inputs, outputs, task, labels, buckets...
//   kiln::Engine engine(model, options);                // every replica and bucket on the same mapping
//   kiln::Session session(model);                       // and so does a plain session
//
// Thread safety: a Model is immutable after open() and may be shared by any number of threads. The
// mapping lives as long as the last shared_ptr to it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "kiln/tensor.h"

namespace kiln {

namespace artifact {
class MappedArtifact;
}
class WordPieceTokenizer;

// What a model is for, recorded at compile time (from a Hugging Face config's architecture, or
// CompileOptions::task for ONNX files). Text front ends choose their post-processing by it.
enum class Task { classification, pair_classification, embedding, token_classification, other };
const char* task_name(Task task);  // "classification", "pair-classification", ...
// Parses a task name; throws InvalidInputError listing the valid ones.
Task parse_task(const std::string& name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Dims compiled;   // the shape compiled for the longest sequence bucket
  Dims request;    // what a request may send: as compiled, with -1 where it may vary (rows, sequence)
  int batch_axis = -1;  // the axis carrying the compiled batch, -1 if none (as the compiler recorded it)
  int seq_axis = -1;    // the axis carrying the sequence length, -1 if none
  // Inputs: token_ids | attention_mask | token_type_ids | other (what the runtime pads them with), and
  // for token ids the vocabulary size (rows of the table they index; 0 when unknown).
  std::string role = "other";
  int64_t vocab_size = 0;
};

struct ModelInfo {
  std::string path;
  std::vector<TensorInfo> inputs, outputs;  // in the model's order
  Task task = Task::other;
  // Requests may have any row count (rows are independent and on axis 0 of every batched tensor); when
  // not, `batching_reason` says why and requests must have the compiled shapes.
  bool any_rows = false;
  std::string batching_reason;
  // Requests may have any sequence length up to max_length (padded into the smallest bucket that fits).
  bool any_length = false;
  int64_t batch = 0;                 // the compiled batch (0: none given)
  std::vector<int64_t> seq_buckets;  // compiled sequence lengths, ascending ({0}: compiled without one)
  int64_t max_length = 0;            // the longest bucket (0 without a sequence length)
  int64_t pad_id = 0;                // what token-id inputs are padded with
  std::string precision = "fp32";    // "fp32", "bf16-matmult", "int8-dynamic", ...
  std::vector<std::string> labels;   // class names (classifiers), may be empty
  bool has_tokenizer = false;        // the artifact holds a tokenizer (text in)
  int pipeline_stages = 1;           // as compiled
  std::string metadata_json;         // the whole META section, for tools that show it
};

// One step of a compiled plan, as `kiln inspect --steps` shows it.
struct StepInfo {
  std::string op;
  std::string name;       // the source node it came from
  std::string precision;  // what it computes in: its kernel's dtype ("f32", "bf16", "i8"), "int8-dynamic" /
                          // "int8-static" for int8 GEMMs
  std::string kernel;     // the kernel this CPU runs it with; empty when none would bind
  std::vector<std::string> inputs, outputs;  // "f32[8,128,768]"; "_" for an omitted optional input
};

// One compiled plan (one sequence bucket): its memory and its steps.
struct PlanInfo {
  uint64_t weight_bytes = 0;  // the constants (shared by every bucket)
  uint64_t arena_bytes = 0;   // activation memory of one session
  std::vector<StepInfo> steps;
};

// The artifact file itself.
struct FileInfo {
  uint64_t bytes = 0;
  unsigned format_version = 0;
  std::string compiler_version;  // "kiln 0.1.0"
};

class Model {
 public:
  // Maps and checks the artifact (magic, version, checksums, plans) and parses its metadata. Throws
  // kiln::InvalidInputError naming the file and the problem.
  static std::shared_ptr<const Model> open(const std::string& path);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }
  const FileInfo& file() const { return file_; }
  // Plan `bucket` (index into info().seq_buckets), its steps and the kernels this CPU binds them to.
  // Throws InvalidInputError for a bucket out of range.
  PlanInfo plan_info(size_t bucket = 0) const;

  // Writes the artifact, byte for byte as opened, to `path` (a temporary file renamed into place, so a
  // failed save leaves nothing). Works after the file it was opened from is deleted or replaced: the
  // bytes come from this model's mapping. Throws InvalidInputError naming `path` when it cannot be written.
  void save(const std::string& path) const;

  // The tokenizer stored in the artifact (read once at open), or nullptr when it has none.
  const WordPieceTokenizer* tokenizer() const { return tokenizer_.get(); }
  // The mapped artifact (internal to the runtime: src/artifact/artifact.h).
  const artifact::MappedArtifact& mapped() const { return *art_; }

  // How many artifacts this process has mapped so far (every Model::open, and every Session or Engine
  // made from a path, maps one): diagnostics, and the test that replicas share one mapping.
  static uint64_t mappings_opened();

 private:
  Model() = default;
  std::unique_ptr<artifact::MappedArtifact> art_;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  ModelInfo info_;
  FileInfo file_;
};

}  // namespace kiln
