// Test helper: compiles a GraphBuilder graph (unbound, symbolic dims) the way the compiler does, with the
// metadata the runtime reads (each input's and output's batch and sequence axes, whether rows are
// independent; passes/batch_axes.h), plus whatever else a test adds to META and extra sections.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "artifact/artifact.h"
#include "passes/batch_axes.h"
#include "passes/passes.h"
#include "planner/build_plan.h"

namespace kiln::test {

// Sequence buckets: one plan per length in `seqs` (ascending) over one shared weight blob, as
// `kiln compile --seq 4,8` writes them.
inline void compile_graph_buckets(const std::string& path, const ir::Graph& unbound, CompileOptions o,
                                  const std::vector<int64_t>& seqs, const nlohmann::json& extra_meta = nlohmann::json::object(),
                                  const std::map<std::string, nlohmann::json>& input_fields = {},
                                  const std::map<std::string, std::string>& sections = {}) {
  o.seq = seqs.front();
  const passes::BatchAxes axes = passes::find_batch_axes(unbound, o);
  planner::WeightBlob blob;
  std::vector<plan::Plan> plans;
  for (int64_t s : seqs) {
    ir::Graph g = unbound;
    CompileOptions b = o;
    b.seq = s;
    passes::run_passes(g, b);
    plans.push_back(planner::build_plan(g, blob));
  }
  blob.bytes.resize(plan::align_up(blob.bytes.size()), '\0');
  const plan::Plan& plan = plans.back();
  nlohmann::json in = nlohmann::json::array(), out = nlohmann::json::array();
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const std::string& name = plan.tensors[plan.inputs[i]].name;
    nlohmann::json t = {{"name", name}, {"batch_axis", axes.inputs[i].batch}, {"seq_axis", axes.inputs[i].seq}};
    if (auto it = input_fields.find(name); it != input_fields.end()) t.update(it->second);
    in.push_back(t);
  }
  for (size_t i = 0; i < plan.outputs.size(); ++i)
    out.push_back({{"name", plan.tensors[plan.outputs[i]].name}, {"batch_axis", axes.outputs[i].batch}, {"seq_axis", axes.outputs[i].seq}});
  nlohmann::json meta = {{"options", {{"batch", o.batch}, {"seq", seqs.front()}}}, {"seq_buckets", seqs}, {"inputs", in}, {"outputs", out},
                         {"batching", {{"rows_independent", axes.rows_independent}, {"reason", axes.reason}}}};
  meta.update(extra_meta);
  std::vector<const plan::Plan*> ptrs;
  for (const plan::Plan& p : plans) ptrs.push_back(&p);
  artifact::write_artifact(path, meta, ptrs, blob.bytes, sections);
}

// One sequence length (o.seq, 0 for none).
inline void compile_graph(const std::string& path, const ir::Graph& g, const CompileOptions& o,
                          const nlohmann::json& extra_meta = nlohmann::json::object(),
                          const std::map<std::string, nlohmann::json>& input_fields = {},
                          const std::map<std::string, std::string>& sections = {}) {
  compile_graph_buckets(path, g, o, {o.seq}, extra_meta, input_fields, sections);
}

}  // namespace kiln::test
