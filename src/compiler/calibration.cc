#include "compiler/calibration.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "artifact/artifact.h"
#include "kiln/error.h"
#include "kiln/version.h"
#include "planner/build_plan.h"

namespace kiln::compiler {

// read_calibration_file and read_calibration_text: calibration_file.cc.

std::vector<std::vector<NamedTensor>> make_batches(const std::vector<Sample>& samples, const ir::Graph& g) {
  std::vector<std::vector<NamedTensor>> batches;
  const int64_t batch = ir::static_dims(g.values[g.inputs.at(0)].shape).at(0);
  for (size_t first = 0; first < samples.size(); first += batch) {
    std::vector<NamedTensor> inputs;
    for (int id : g.inputs) {
      const ir::Value& v = g.values[id];
      Tensor t(v.dtype, ir::static_dims(v.shape));
      const int64_t row = t.numel() / batch;
      for (int64_t b = 0; b < batch; ++b) {
        const std::vector<int64_t>& vals = samples[(first + b) % samples.size()].at(v.name);
        for (int64_t i = 0; i < row; ++i) {
          if (v.dtype == DType::i64) t.data_as<int64_t>()[b * row + i] = vals[i];
          else t.data_as<int32_t>()[b * row + i] = static_cast<int32_t>(vals[i]);
        }
      }
      inputs.push_back({v.name, std::move(t)});
    }
    batches.push_back(std::move(inputs));
  }
  return batches;
}

Session reference_session(ir::Graph g, const nlohmann::json& meta_inputs, const std::string& near_path) {
  CompileOptions fp32;
  passes::PassReport r;
  passes::lower_graph(g, fp32, nullptr, r);
  std::string weights;
  plan::Plan plan = planner::build_plan(g, weights);
  nlohmann::json meta = {{"format_version", kArtifactFormatVersion}, {"kiln_version", version()},
                         {"options", {{"batch", 0}, {"seq", 0}, {"precision", "fp32"}}}, {"inputs", meta_inputs}};
  const std::string tmp = near_path + ".reference.tmp";
  artifact::write_artifact(tmp, meta, plan, weights);
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{tmp};
  return Session(tmp);
}

passes::ActivationRanges calibrate(const ir::Graph& g, const std::vector<std::vector<NamedTensor>>& batches,
                                   const nlohmann::json& meta_inputs, const std::string& near_path) {
  ir::Graph probe = g;
  std::set<int> watched;
  for (const ir::Node& n : probe.nodes)
    if (n.op == "FusedMatMul" && probe.values[n.inputs[1]].is_constant()) watched.insert(n.inputs[0]);
  for (int v : watched)
    if (std::find(probe.outputs.begin(), probe.outputs.end(), v) == probe.outputs.end()) probe.outputs.push_back(v);
  Session s = reference_session(std::move(probe), meta_inputs, near_path);
  passes::ActivationRanges ranges;
  for (int v : watched) ranges[g.values[v].name] = 0;
  std::vector<NamedTensor> outputs;
  for (const auto& batch : batches) {
    s.run(batch, outputs);
    for (const NamedTensor& o : outputs) {
      auto it = ranges.find(o.name);
      if (it == ranges.end() || o.tensor.dtype() != DType::f32) continue;
      for (int64_t i = 0; i < o.tensor.numel(); ++i) it->second = std::max(it->second, std::fabs(o.tensor.data_as<float>()[i]));
    }
  }
  return ranges;
}

}  // namespace kiln::compiler
