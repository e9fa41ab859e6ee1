#include <cstdio>

#include "cli/commands.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "util/file.h"

namespace kiln::cli {

Command add_compile(CLI::App& app) {
  auto* cmd = app.add_subcommand("compile", "Compile an ONNX model for fixed shapes into a .kiln artifact");
  struct Args {
    std::string model, output, dump_ir;
    int64_t batch = 0, seq = 0;
    std::vector<std::string> dims;
    bool no_fuse = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("model", args->model, "ONNX model file")->required();
  cmd->add_option("-o,--output", args->output, "Artifact to write (default: the model's name with .kiln)");
  CLI::Option* batch_opt = cmd->add_option("--batch", args->batch, "Value of the batch dim (axis 0 of every input)");
  CLI::Option* seq_opt = cmd->add_option("--seq", args->seq, "Value of the sequence dim (axis 1 of every input)");
  add_repeated_option(cmd, "--dim", args->dims, "Value of any other dynamic dim, by its ONNX name: NAME=VALUE (repeatable)");
  cmd->add_option("--dump-ir", args->dump_ir, "Also write the optimised IR as text to this file");
  cmd->add_flag("--no-fuse", args->no_fuse, "Skip the fusion passes (to debug or compare)");
  return [args, batch_opt, seq_opt]() {
    CompileOptions opts;
    auto positive = [](const char* flag, int64_t v) {
      if (v <= 0) fail(flag, " must be a positive integer, got ", v);
    };
    if (batch_opt->count()) positive("--batch", args->batch);
    if (seq_opt->count()) positive("--seq", args->seq);
    opts.batch = args->batch;
    opts.fuse = !args->no_fuse;
    opts.keep_ir_text = !args->dump_ir.empty();
    opts.seq = args->seq;
    for (const std::string& d : args->dims) {
      size_t eq = d.find('=');
      if (eq == std::string::npos || eq == 0) fail("--dim '", d, "' must be NAME=VALUE");
      int64_t v = 0;
      try {
        size_t used = 0;
        v = std::stoll(d.substr(eq + 1), &used);
        if (used != d.size() - eq - 1) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        fail("--dim '", d, "': '", d.substr(eq + 1), "' is not an integer");
      }
      positive(("--dim " + d.substr(0, eq)).c_str(), v);
      opts.dims[d.substr(0, eq)] = v;
    }
    std::string out = args->output;
    if (out.empty()) {
      out = args->model;
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
