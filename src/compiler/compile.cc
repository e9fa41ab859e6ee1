// The compile driver: frontend -> passes -> plan -> artifact, and the analyze entry point.
#include <chrono>
#include <dnnl.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "artifact/artifact.h"
#include "compiler/calibration.h"
#include "compiler/constant_inputs.h"
#include "frontend/hf_import.h"
#include "frontend/onnx_import.h"
#include "ir/text_format.h"
#include "kernels/kernel.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/tokenizer.h"
#include "kiln/version.h"
#include "ops/op_schema.h"
#include "passes/batch_axes.h"
#include "passes/passes.h"
#include "planner/build_plan.h"
#include "plan/stages.h"
#include "kiln/topology.h"
#include "kiln/sample_inputs.h"
#include "util/file.h"

namespace kiln {
namespace {

// Every step must have a kernel for its dtype at the reference tier (the runtime may pick a faster one
// on the CPU it runs on). Lists all gaps at once.
void check_kernels(const ir::Graph& g) {
  std::map<std::string, std::vector<std::string>> missing;
  for (const ir::Node& n : g.nodes) {
    DType t = ops::kernel_dtype(g, n);
    if (!kernels::find_kernel(n.op, t, kernels::Isa::ref))
      missing[n.op + " on " + dtype_name(t)].push_back(n.name);
  }
  if (missing.empty()) return;
  std::string list;
  for (const auto& [k, nodes] : missing) {
    list += (list.empty() ? "" : "; ") + k + " x" + std::to_string(nodes.size()) + " (";
    for (size_t i = 0; i < nodes.size(); ++i) list += (i ? ", " : "") + nodes[i];
    list += ")";
  }
  fail("no kernel for these op/dtype pairs: ", list);
}

// What each integer model input is for, so tools can make valid sample inputs (kiln bench) and, later,
// pad requests: token ids index an embedding table (its row count is the vocabulary), masks are named so
// by every exporter, token types index a small table.
struct InputRole {
  std::string role = "other";
  int64_t vocab = 0;  // rows of the table it indexes, when it does
};

std::map<std::string, InputRole> detect_input_roles(const ir::Graph& g) {
  std::map<std::string, InputRole> roles;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[id];
    InputRole r;
    for (const ir::Node& n : g.nodes)
      if (n.op == "Gather" && n.inputs.size() == 2 && n.inputs[1] == id && g.values[n.inputs[0]].is_constant() &&
          n.attrs.get_int("axis", 0) == 0)
        r.vocab = std::max(r.vocab, g.values[n.inputs[0]].constant->dims().at(0));
    std::string lower;
    for (char c : v.name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("mask") != std::string::npos) r.role = "attention_mask";
    else if (lower.find("type") != std::string::npos || lower.find("segment") != std::string::npos) r.role = "token_type_ids";
    else if (r.vocab > 0 || lower == "ids" || lower.find("input_ids") != std::string::npos) r.role = "token_ids";
    roles[v.name] = r;
  }
  return roles;
}

// The plan's outputs (in graph output order, as the analysis) with their batch and sequence axes.
nlohmann::json output_specs(const plan::Plan& p, const passes::BatchAxes& axes) {
  KILN_CHECK(axes.outputs.size() == p.outputs.size(), "the batch-axis analysis saw ", axes.outputs.size(),
             " outputs, the plan has ", p.outputs.size());
  nlohmann::json a = nlohmann::json::array();
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    const plan::PlanTensor& t = p.tensors[p.outputs[o]];
    a.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"dims", t.dims},
                 {"batch_axis", axes.outputs[o].batch}, {"seq_axis", axes.outputs[o].seq}});
  }
  return a;
}

}  // namespace

bool AnalysisReport::all_supported() const {
  for (const OpSupport& o : ops)
    if (!o.supported) return false;
  return true;
}

AnalysisReport analyze_file(const std::string& model_path) { return frontend::analyze_onnx(model_path); }

namespace {

// Checks the precision options and names the mode ("fp32", "bf16-matmult", "int8-static", ...).
std::string precision_name(const CompileOptions& o) {
  if (o.auto_cast != "none" && o.auto_cast != "matmult" && o.auto_cast != "all")
    fail("auto_cast '", o.auto_cast, "' is not supported (expected none, matmult or all)");
  if (o.cast_type != "bf16" && o.cast_type != "fp16")
    fail("cast_type '", o.cast_type, "' is not supported (expected bf16 or fp16)");
  if (o.quantize != "none" && o.quantize != "int8")
    fail("quantize '", o.quantize, "' is not supported (expected int8)");
  // int8 GEMMs read and write fp32 activations; matmult adds bf16 attention (the GEMMs without
  // constant weights) around them. fp16 has no attention kernel of its own, and `all` would put a cast
  // before every int8 GEMM.
  if (o.quantize == "int8" && o.auto_cast != "none" && (o.auto_cast != "matmult" || o.cast_type != "bf16"))
    fail("quantize int8 combines only with auto_cast matmult in bf16 (int8 GEMMs, bf16 attention), got auto_cast ",
         o.auto_cast, " in ", o.cast_type);
  if (!(o.tolerance >= 0)) fail("tolerance must be a non-negative number, got ", o.tolerance);
  if (o.pipeline_stages < 0) fail("pipeline_stages must be a positive integer, got ", o.pipeline_stages);
  if (o.quantize == "int8")
    return std::string(o.calibration_file.empty() ? "int8-dynamic" : "int8-static") +
           (o.auto_cast == "none" ? "" : "-bf16-matmult");
  if (o.auto_cast != "none") return o.cast_type + "-" + o.auto_cast;
  return "fp32";
}

// A Hugging Face architecture's task: ...ForSequenceClassification classifies (one text or a pair: the
// same model), ...ForTokenClassification labels tokens, a bare encoder (BertModel, ...) embeds.
Task task_of_architecture(const std::string& arch) {
  auto ends_with = [&](const std::string& suffix) {
    return arch.size() >= suffix.size() && arch.compare(arch.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("ForSequenceClassification")) return Task::classification;
  if (ends_with("ForTokenClassification")) return Task::token_classification;
  if (ends_with("Model")) return Task::embedding;
  return Task::other;
}

// Removes a file when it goes out of scope (temporary artifacts of --verify).
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

CompileReport compile_file(const std::string& model_path, const std::string& artifact_path,
                           const CompileOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (options.batch < 0) fail("batch must be a positive integer, got ", options.batch);
  if (options.seq < 0) fail("seq must be a positive integer, got ", options.seq);
  // Sequence buckets, ascending: one plan each, over one shared weight blob.
  std::vector<int64_t> seqs = options.seq_buckets.empty() ? std::vector<int64_t>{options.seq} : options.seq_buckets;
  for (int64_t s : seqs)
    if (options.seq_buckets.size() > 0 && s <= 0) fail("seq_buckets values must be positive integers, got ", s);
  std::sort(seqs.begin(), seqs.end());
  if (std::adjacent_find(seqs.begin(), seqs.end()) != seqs.end()) fail("seq_buckets lists a length twice");
  if (seqs.size() > 16) fail("seq_buckets lists ", seqs.size(), " lengths; at most 16 buckets");
  CompileReport r;
  r.precision = precision_name(options);
  if (!options.task.empty()) parse_task(options.task);  // a bad task fails before any work
  // An ONNX file, or a Hugging Face checkpoint folder (whose tokenizer, labels and pad id come along
  // unless given on the command line).
  frontend::ImportedModel m;
  CompileOptions opts = options;
  std::string format = "onnx";
  if (frontend::is_hf_folder(model_path)) {
    frontend::HfModel hm = frontend::import_hf_folder(model_path);
    m.graph = std::move(hm.graph);
    m.sha256 = hm.sha256;
    m.producer = "huggingface " + hm.architecture;
    m.onnx_nodes = m.graph.nodes.size();
    format = "huggingface " + hm.model_type;
    if (opts.vocab_file.empty() && opts.tokenizer_file.empty()) {
      opts.vocab_file = hm.vocab_file;
      if (opts.vocab_file.empty()) opts.tokenizer_file = hm.tokenizer_file;
      opts.lowercase = hm.lowercase;
    }
    if (opts.labels.empty()) opts.labels = hm.labels;
    if (opts.pad_id < 0) opts.pad_id = hm.pad_id;
    if (opts.task.empty()) opts.task = task_name(task_of_architecture(hm.architecture));
  } else {
    m = frontend::import_onnx(model_path);
  }
  compiler::bind_constant_inputs(m.graph, options.constant_inputs);  // --constant-input: now initializers
  if (opts.pad_id < 0) opts.pad_id = 0;
  // Input roles (what the runtime pads each input with): detected below on the optimised graph, then
  // --input-role overrides.
  std::map<std::string, InputRole> roles;
  auto apply_role_options = [&] {
    for (const auto& [name, role] : options.input_roles) {
      if (role != "token_ids" && role != "attention_mask" && role != "token_type_ids" && role != "other")
        fail("input_roles['", name, "'] = '", role, "': the role must be token_ids, attention_mask, token_type_ids or other");
      auto it = roles.find(name);
      if (it == roles.end()) {
        std::string names;
        for (const auto& [n, _] : roles) names += (names.empty() ? "" : ", ") + n;
        fail("input_roles['", name, "'] = '", role, "': the model has no input named '", name, "' (its inputs: ", names, ")");
      }
      it->second.role = role;
    }
  };
  // Which inputs and outputs carry the batch and sequence dims, and whether rows are independent: what
  // the runtime may merge, pad and split (passes/batch_axes.h). Found on the unbound graph.
  CompileOptions first_bucket = options;
  first_bucket.seq = seqs.front();
  const passes::BatchAxes axes = passes::find_batch_axes(m.graph, first_bucket);
  std::map<std::string, passes::TensorAxes> input_axes;
  for (size_t i = 0; i < m.graph.inputs.size(); ++i) input_axes[m.graph.values[m.graph.inputs[i]].name] = axes.inputs[i];
  r.source_nodes = m.onnx_nodes;
  r.constant_nodes = m.constant_nodes;
  std::vector<ir::Graph> graphs;
  std::vector<CompileOptions> bucket_options;
  passes::PassReport pr;
  for (size_t k = 0; k < seqs.size(); ++k) {
    CompileOptions o = options;
    o.seq = seqs[k];
    ir::Graph g = k + 1 < seqs.size() ? m.graph : std::move(m.graph);
    pr = passes::PassReport{};
    passes::optimize_graph(g, o, o.fuse, pr);
    graphs.push_back(std::move(g));
    bucket_options.push_back(o);
  }
  // Input roles from the optimised graph (folded constants: an embedding table behind a Cast counts).
  roles = detect_input_roles(graphs.front());
  apply_role_options();
  auto inputs_of = [&](const ir::Graph& g) {
    nlohmann::json inputs_json = nlohmann::json::array();
    for (int id : g.inputs) {
      const ir::Value& v = g.values[id];
      nlohmann::json in = {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"dims", ir::static_dims(v.shape)}};
      const passes::TensorAxes a = input_axes.count(v.name) ? input_axes.at(v.name) : passes::TensorAxes{};
      in["batch_axis"] = a.batch;
      in["seq_axis"] = a.seq;
      auto it = roles.find(v.name);
      if (it != roles.end()) {
        in["role"] = it->second.role;
        if (it->second.vocab > 0) in["vocab_size"] = it->second.vocab;
      }
      inputs_json.push_back(in);
    }
    return inputs_json;
  };
  const nlohmann::json inputs_json = inputs_of(graphs.front());
  // The optimised fp32 graph of the largest bucket is the reference for calibration and --verify.
  const ir::Graph& largest = graphs.back();
  const nlohmann::json largest_inputs = inputs_of(largest);
  const bool static_int8 = r.precision == "int8-static";
  ir::Graph reference;
  if (options.verify || static_int8) reference = largest;
  std::vector<std::vector<NamedTensor>> batches;
  if (!options.calibration_file.empty()) {
    std::vector<compiler::Sample> samples = compiler::read_calibration_file(options.calibration_file, largest);
    r.calibration_samples = samples.size();
    batches = compiler::make_batches(samples, largest);
  }
  passes::ActivationRanges ranges;
  if (static_int8) ranges = compiler::calibrate(reference, batches, largest_inputs, artifact_path);
  planner::WeightBlob blob;
  std::vector<plan::Plan> plans;
  for (size_t k = 0; k < graphs.size(); ++k) {
    pr.cast = {};
    passes::lower_graph(graphs[k], bucket_options[k], static_int8 ? &ranges : nullptr, pr);
    check_kernels(graphs[k]);
    plans.push_back(planner::build_plan(graphs[k], blob));
  }
  blob.bytes.resize(plan::align_up(blob.bytes.size()), '\0');
  const std::string& weights = blob.bytes;
  r.fused = pr.fused;
  r.fused_away = pr.fused_away;
  r.packed_weights = pr.packed;
  r.folded_nodes = pr.folded;
  r.removed_nodes = pr.noops + pr.dead;
  r.lowered_ops = pr.cast.lowered;
  r.casts = pr.cast.casts;
  r.quantized_gemms = pr.quantized;
  r.seq_buckets = seqs;
  if (options.keep_ir_text) r.ir_text = ir::to_text(graphs.back());

  const plan::Plan& plan = plans.front();
  r.steps = plan.steps.size();
  r.weight_bytes = weights.size();
  r.arena_bytes = 0;
  for (const plan::Plan& p : plans) r.arena_bytes = std::max<size_t>(r.arena_bytes, p.arena_bytes);
  nlohmann::json pipeline;
  if (options.pipeline_stages > 1) {
    plan::Stages st = plan::cut_stages(plan, options.pipeline_stages);
    if (options.pipeline_stages > static_cast<int>(allowed_cpus().size()))
      fail("pipeline_stages ", options.pipeline_stages, " needs at least ", options.pipeline_stages,
           " cores (one core group per stage), but this process may use ", allowed_cpus().size());
    r.stage_bounds = st.bounds;
    r.stage_costs = st.costs;
    pipeline = {{"stages", options.pipeline_stages}, {"bounds", st.bounds}, {"costs", st.costs}};
  }
  const dnnl_version_t* dv = dnnl_version();
  nlohmann::json meta = {
      {"format_version", kArtifactFormatVersion},
      {"kiln_version", version()},
      {"onednn_version", str(dv->major, ".", dv->minor, ".", dv->patch)},
      {"source", {{"file", base_name(model_path)}, {"sha256", m.sha256}, {"producer", m.producer}, {"opset", m.opset}, {"format", format}}},
      {"options", {{"batch", options.batch}, {"seq", seqs.front()}, {"dims", options.dims}, {"precision", r.precision},
                   {"auto_cast", options.auto_cast}, {"auto_cast_type", options.cast_type}, {"quantize", options.quantize},
                   {"fuse", options.fuse}}},
      {"seq_buckets", seqs},
      {"pad_id", opts.pad_id},
      {"inputs", inputs_json},
      {"outputs", output_specs(plan, axes)},
      {"batching", {{"rows_independent", axes.rows_independent}, {"reason", axes.reason}}},
      {"pipeline", pipeline.is_null() ? nlohmann::json{{"stages", 1}} : pipeline},
      {"sizes", {{"weight_bytes", weights.size()}, {"arena_bytes", r.arena_bytes}, {"steps", plan.steps.size()},
                 {"source_nodes", r.source_nodes}, {"constant_nodes", r.constant_nodes}, {"folded_nodes", r.folded_nodes}, {"removed_nodes", r.removed_nodes}}},
  };
  // The tokenizer, read and checked now so that a bad vocabulary fails the compile, not the first request.
  std::map<std::string, std::string> extra;
  if (!opts.vocab_file.empty() || !opts.tokenizer_file.empty()) {
    if (!opts.vocab_file.empty() && !opts.tokenizer_file.empty()) fail("give --vocab or --tokenizer, not both");
    const WordPieceTokenizer tok = opts.vocab_file.empty() ? WordPieceTokenizer::from_tokenizer_json(opts.tokenizer_file)
                                                              : WordPieceTokenizer::from_vocab_file(opts.vocab_file, opts.lowercase);
    extra["VOCAB"] = tok.vocab_text();
    meta["tokenizer"] = {{"type", "wordpiece"}, {"lowercase", tok.lowercase()}, {"vocab_size", tok.vocab_size()},
                         {"source", base_name(opts.vocab_file.empty() ? opts.tokenizer_file : opts.vocab_file)}};
  }
  if (!opts.labels.empty()) meta["labels"] = opts.labels;
  meta["task"] = task_name(opts.task.empty() ? (opts.labels.empty() ? Task::other : Task::classification) : parse_task(opts.task));
  std::vector<const plan::Plan*> plan_ptrs;
  for (const plan::Plan& p : plans) plan_ptrs.push_back(&p);
  if (!options.verify) {
    r.artifact_bytes = artifact::write_artifact(artifact_path, meta, plan_ptrs, weights, extra);
  } else {
    // Written under a temporary name first: a model that fails verification leaves no artifact.
    RemoveOnExit unverified{artifact_path + ".unverified"};
    artifact::write_artifact(unverified.path, meta, plan_ptrs, weights, extra);
    SessionOptions last;
    last.seq_bucket = static_cast<int>(plans.size() - 1);
    Session candidate(unverified.path, last);
    Session ref = compiler::reference_session(std::move(reference), largest_inputs, artifact_path);
    if (batches.empty())
      for (uint64_t seed = 1; seed <= 4; ++seed) batches.push_back(make_sample_inputs(ref, seed * kDefaultSampleSeed));
    r.verification = compare_sessions(candidate, ref, batches);
    const CompileReport::Verification& v = r.verification;
    if (!(v.max_abs_error <= options.tolerance))
      fail("verify: max abs error ", v.max_abs_error, " exceeds the tolerance ", options.tolerance, " (", r.precision,
           " vs fp32 on ", v.samples, " samples; max rel error ", v.max_rel_error, ", cosine ", v.min_cosine,
           ", argmax agreement ", v.argmax_agreement * 100, "%); no artifact written");
    if (std::rename(unverified.path.c_str(), artifact_path.c_str()) != 0)
      fail("cannot write '", artifact_path, "': ", std::strerror(errno));
    unverified.path.clear();
    r.artifact_bytes = artifact::MappedArtifact(artifact_path).file_size();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace kiln
