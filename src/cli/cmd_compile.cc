#include <cstdio>

#include "cli/commands.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "kiln/npy.h"
#include "util/file.h"

namespace kiln::cli {

Command add_compile(CLI::App& app) {
  auto* cmd = app.add_subcommand("compile", "Compile an ONNX model (or a Hugging Face checkpoint folder) for fixed shapes into a .kiln artifact");
  struct Args {
    std::string model, output, dump_ir;
    int64_t batch = 0, pad_id = -1;
    std::string seq;
    std::vector<std::string> dims, roles, constant_inputs;
    std::string vocab, tokenizer, labels, task;
    bool cased = false;
    bool no_fuse = false;
    std::string auto_cast = "none", cast_type = "bf16", quantize = "none", calibrate;
    bool verify = false;
    double tolerance = 1e-2;
    int pipeline_cores = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("model", args->model, "ONNX model file, or a Hugging Face folder (config.json, model.safetensors, vocab.txt)")->required();
  cmd->add_option("-o,--output", args->output, "Artifact to write (default: the model's name with .kiln)");
  CLI::Option* batch_opt = cmd->add_option("--batch", args->batch, "Value of the batch dim (axis 0 of every input)");
  CLI::Option* seq_opt = cmd->add_option("--seq", args->seq,
                                         "Value of the sequence dim (axis 1 of every input); several, e.g. 32,64,128, "
                                         "compile one plan per length (sequence buckets)");
  add_repeated_option(cmd, "--input-role", args->roles,
                      "NAME=ROLE (token_ids, attention_mask, token_type_ids, other): how the runtime pads the input, "
                      "when detection by name and embedding table guesses wrong (repeatable)");
  cmd->add_option("--vocab", args->vocab, "Store a WordPiece tokenizer from this BERT vocab.txt (for kiln run --text, kiln eval)");
  cmd->add_option("--tokenizer", args->tokenizer, "Store the WordPiece tokenizer of this Hugging Face tokenizer.json");
  cmd->add_flag("--cased", args->cased, "With --vocab: keep case and accents (default: uncased)");
  cmd->add_option("--labels", args->labels, "Names of the output classes, comma-separated (e.g. negative,positive)");
  cmd->add_option("--task", args->task,
                  "What the model is for: classification, pair-classification, embedding, token-classification or other "
                  "(default: from a Hugging Face folder's architecture; for ONNX, classification with --labels, else other)");
  CLI::Option* pad_opt = cmd->add_option("--pad-id", args->pad_id, "Token id the runtime pads shorter requests with (default 0, BERT's [PAD])");
  add_repeated_option(cmd, "--constant-input", args->constant_inputs,
                      "NAME=FILE.npy: bind this model input to the value in the file at compile time (it becomes a "
                      "constant and is no longer an input; e.g. a shape or axes input) (repeatable)");
  add_repeated_option(cmd, "--dim", args->dims, "Value of any other dynamic dim, by its ONNX name: NAME=VALUE (repeatable)");
  cmd->add_option("--dump-ir", args->dump_ir, "Also write the optimised IR as text to this file");
  cmd->add_flag("--no-fuse", args->no_fuse, "Skip the fusion passes (to debug or compare)");
  cmd->add_option("--auto-cast", args->auto_cast,
                  "Precision: none (fp32, default), matmult (GEMM inputs in the cast type, fp32 accumulation), "
                  "all (every op with a low-precision kernel)");
  cmd->add_option("--auto-cast-type", args->cast_type, "bf16 (default; avx512_bf16) or fp16 (weights stored in fp16)");
  cmd->add_option("--quantize", args->quantize, "int8: int8 GEMM weights (per channel) and activations (per tensor); with --auto-cast matmult, attention in bf16");
  cmd->add_option("--calibrate", args->calibrate,
                  "JSON Lines samples ({\"input\": [ids...], ...} per line): static int8 activation scales; also "
                  "the inputs --verify runs on");
  CLI::Option* tol_opt = cmd->add_option("--tolerance", args->tolerance, "--verify's bound on the max abs error (default 0.01)");
  cmd->add_option("--pipeline-cores", args->pipeline_cores,
                  "Cut the model into this many pipeline stages of balanced cost, one core group each at run time");
  cmd->add_flag("--verify", args->verify,
                "Compare with the fp32 model on sample inputs; fail without writing when the max abs error exceeds --tolerance");
  return [args, batch_opt, seq_opt, tol_opt, pad_opt]() {
    CompileOptions opts;
    if (batch_opt->count()) require_positive("--batch", args->batch);
    if (seq_opt->count()) {
      opts.seq_buckets = parse_int_list<int64_t>("--seq", args->seq);
      for (int64_t v : opts.seq_buckets) require_positive("--seq", v);
      if (opts.seq_buckets.size() == 1) opts.seq = opts.seq_buckets[0], opts.seq_buckets.clear();
    }
    if (pad_opt->count() && args->pad_id < 0) fail("--pad-id must be >= 0, got ", args->pad_id);
    opts.pad_id = args->pad_id;
    opts.vocab_file = args->vocab;
    opts.tokenizer_file = args->tokenizer;
    opts.lowercase = !args->cased;
    opts.task = args->task;
    opts.labels = parse_name_list("--labels", args->labels);
    for (const std::string& r : args->roles) {
      const NameValue role = parse_name_value("--input-role", r, "NAME=ROLE");
      opts.input_roles[role.name] = role.value;
    }
    opts.batch = args->batch;
    opts.fuse = !args->no_fuse;
    opts.keep_ir_text = !args->dump_ir.empty();
    opts.auto_cast = args->auto_cast;
    opts.cast_type = args->cast_type;
    opts.quantize = args->quantize;
    opts.calibration_file = args->calibrate;
    opts.verify = args->verify || tol_opt->count() > 0;
    opts.tolerance = args->tolerance;
    opts.pipeline_stages = args->pipeline_cores;
    if (!args->calibrate.empty() && args->quantize != "int8" && !opts.verify)
      fail("--calibrate is used by --quantize int8 (static scales) and --verify; give one of them");
    for (const std::string& d : args->dims) {
      const NameInt dim = parse_name_int("--dim", d);
      require_positive("--dim " + dim.name, dim.value);
      opts.dims[dim.name] = dim.value;
    }
    for (const std::string& c : args->constant_inputs) {
      const NameValue in = parse_name_value("--constant-input", c, "NAME=FILE.npy");
      if (opts.constant_inputs.count(in.name)) fail("--constant-input ", in.name, " is given twice");
      opts.constant_inputs[in.name] = read_npy(in.value);
    }
    std::string out = args->output;
    if (out.empty()) {
      out = args->model;
      while (out.size() > 1 && out.back() == '/') out.pop_back();  // a Hugging Face folder given as dir/
      size_t dot = out.find_last_of('.');
      if (dot != std::string::npos && dot > out.find_last_of('/') + 1) out = out.substr(0, dot);
      out += ".kiln";
    }
    CompileReport r = compile_file(args->model, out, opts);
    std::printf("compiled %s -> %s in %.2f s\n", args->model.c_str(), out.c_str(), r.seconds);
    std::printf("  nodes:   %zu in the model (%zu Constant), %zu folded at compile time, %zu removed, %zu steps to run\n",
                r.source_nodes, r.constant_nodes, r.folded_nodes, r.removed_nodes, r.steps);
    if (!r.fused.empty()) {
      std::printf("  fused:  ");
      for (size_t i = 0; i < r.fused.size(); ++i)
        std::printf("%s %zu %s", i ? "," : "", r.fused[i].second, r.fused[i].first.c_str());
      std::printf(" (%zu ops fused away)\n", r.fused_away);
    }
    if (r.packed_weights) std::printf("  packed:  %zu weights in this CPU's GEMM layout\n", r.packed_weights);
    if (r.precision != "fp32") {
      std::printf("  precision: %s", r.precision.c_str());
      if (r.quantized_gemms) std::printf(", %zu GEMMs with int8 weights", r.quantized_gemms);
      if (r.lowered_ops) std::printf(", %zu ops in %s, %zu casts", r.lowered_ops, args->cast_type.c_str(), r.casts);
      if (r.calibration_samples) std::printf(", calibrated on %zu samples", r.calibration_samples);
      std::printf("\n");
    }
    if (!r.stage_costs.empty()) {
      std::printf("  pipeline: %zu stages:", r.stage_costs.size());
      for (size_t s = 0; s < r.stage_costs.size(); ++s)
        std::printf("%s steps %zu-%zu (%.0f%% of the estimated cost)", s ? "," : "", r.stage_bounds[s], r.stage_bounds[s + 1] - 1,
                    r.stage_costs[s] * 100);
      std::printf("\n");
    }
    if (r.verification.ran) {
      const auto& v = r.verification;
      std::printf("  verify:  vs fp32 on %zu samples: max abs error %.3g (tolerance %.3g), max rel error %.3g, cosine %.6f, argmax agreement %.1f%%\n",
                  v.samples, v.max_abs_error, args->tolerance, v.max_rel_error, v.min_cosine, v.argmax_agreement * 100);
    }
    if (r.seq_buckets.size() > 1) {
      std::printf("  buckets: sequence lengths");
      for (size_t i = 0; i < r.seq_buckets.size(); ++i) std::printf("%s %lld", i ? "," : "", static_cast<long long>(r.seq_buckets[i]));
      std::printf(" (one plan each, weights shared)\n");
    }
    std::printf("  memory:  weights %s, activation arena %s, artifact %s\n", human_bytes(r.weight_bytes).c_str(),
                human_bytes(r.arena_bytes).c_str(), human_bytes(r.artifact_bytes).c_str());
    if (!args->dump_ir.empty()) {
      write_file_atomic(args->dump_ir, r.ir_text, "IR dump");
      std::printf("  IR:      %s\n", args->dump_ir.c_str());
    }
    return 0;
  };
}

}  // namespace kiln::cli
