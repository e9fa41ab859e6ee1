// The compile driver: frontend -> passes -> plan -> artifact, and the analyze entry point.
#include <chrono>
#include <dnnl.h>
#include <algorithm>
#include <cctype>
#include <map>

#include "artifact/artifact.h"
#include "frontend/onnx_import.h"
#include "kernels/kernel.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "kiln/version.h"
#include "ops/op_schema.h"
#include "passes/passes.h"
#include "planner/plan.h"
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
    else if (r.vocab > 0) r.role = "token_ids";
    roles[v.name] = r;
  }
  return roles;
}

nlohmann::json tensor_specs(const planner::Plan& p, const std::vector<int>& ids) {
  nlohmann::json a = nlohmann::json::array();
  for (int id : ids) a.push_back({{"name", p.tensors[id].name}, {"dtype", dtype_name(p.tensors[id].dtype)}, {"dims", p.tensors[id].dims}});
  return a;
}

}  // namespace

bool AnalysisReport::all_supported() const {
  for (const OpSupport& o : ops)
    if (!o.supported) return false;
  return true;
}

AnalysisReport analyze_file(const std::string& model_path) { return frontend::analyze_onnx(model_path); }

CompileReport compile_file(const std::string& model_path, const std::string& artifact_path,
                           const CompileOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (options.batch < 0) fail("--batch must be a positive integer, got ", options.batch);
  if (options.seq < 0) fail("--seq must be a positive integer, got ", options.seq);
  frontend::ImportedModel m = frontend::import_onnx(model_path);
  const std::map<std::string, InputRole> roles = detect_input_roles(m.graph);
  CompileReport r;
  r.source_nodes = m.onnx_nodes;
  r.constant_nodes = m.constant_nodes;
  passes::PassReport pr = passes::run_passes(m.graph, options, options.fuse);
  r.fused = pr.fused;
  r.fused_away = pr.fused_away;
  r.packed_weights = pr.packed;
  r.folded_nodes = pr.folded;
  r.removed_nodes = pr.noops + pr.dead;
  check_kernels(m.graph);
  if (options.keep_ir_text) r.ir_text = ir::to_text(m.graph);

  std::string weights;
  planner::Plan plan = planner::build_plan(m.graph, weights);
  r.steps = plan.steps.size();
  r.weight_bytes = plan.weight_bytes;
  r.arena_bytes = plan.arena_bytes;

  nlohmann::json inputs_json = tensor_specs(plan, plan.inputs);
  for (auto& in : inputs_json) {
    auto it = roles.find(in["name"].get<std::string>());
    if (it == roles.end()) continue;
    in["role"] = it->second.role;
    if (it->second.vocab > 0) in["vocab_size"] = it->second.vocab;
  }
  const dnnl_version_t* dv = dnnl_version();
  nlohmann::json meta = {
      {"format_version", kArtifactFormatVersion},
      {"kiln_version", version()},
      {"onednn_version", str(dv->major, ".", dv->minor, ".", dv->patch)},
      {"source", {{"file", base_name(model_path)}, {"sha256", m.sha256}, {"producer", m.producer}, {"opset", m.opset}, {"format", "onnx"}}},
      {"options", {{"batch", options.batch}, {"seq", options.seq}, {"dims", options.dims}, {"precision", "fp32"}, {"fuse", options.fuse}}},
      {"inputs", inputs_json},
      {"outputs", tensor_specs(plan, plan.outputs)},
      {"sizes", {{"weight_bytes", plan.weight_bytes}, {"arena_bytes", plan.arena_bytes}, {"steps", plan.steps.size()},
                 {"source_nodes", r.source_nodes}, {"constant_nodes", r.constant_nodes}, {"folded_nodes", r.folded_nodes}, {"removed_nodes", r.removed_nodes}}},
  };
  r.artifact_bytes = artifact::write_artifact(artifact_path, meta, plan, weights);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace kiln
