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
#include "planner/plan.h"

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
  planner::Plan plan = planner::build_plan(g, weights);
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

CompileReport::Verification compare_sessions(Session& candidate, Session& reference,
                                             const std::vector<std::vector<NamedTensor>>& batches) {
  CompileReport::Verification v;
  v.ran = true;
  size_t rows = 0, agree = 0;
  for (const auto& batch : batches) {
    std::vector<NamedTensor> got = candidate.run(batch), want = reference.run(batch);
    v.samples += batch.empty() ? 0 : static_cast<size_t>(batch[0].tensor.dims().at(0));
    for (size_t o = 0; o < got.size() && o < want.size(); ++o) {
      const Tensor &a = got[o].tensor, &b = want[o].tensor;
      if (a.dtype() != DType::f32 || b.dtype() != DType::f32 || a.numel() != b.numel()) continue;
      const float* x = a.data_as<float>();
      const float* y = b.data_as<float>();
      double max_abs = 0, ref_max = 0, dot = 0, nx = 0, ny = 0;
      for (int64_t i = 0; i < a.numel(); ++i) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(x[i]) - y[i]));
        ref_max = std::max(ref_max, std::fabs(static_cast<double>(y[i])));
        dot += static_cast<double>(x[i]) * y[i];
        nx += static_cast<double>(x[i]) * x[i];
        ny += static_cast<double>(y[i]) * y[i];
      }
      if (!std::isfinite(max_abs)) max_abs = INFINITY;
      v.max_abs_error = std::max(v.max_abs_error, max_abs);
      v.max_rel_error = std::max(v.max_rel_error, ref_max > 0 ? max_abs / ref_max : max_abs);
      const double cosine = nx > 0 && ny > 0 ? dot / std::sqrt(nx * ny) : (nx == ny ? 1.0 : 0.0);
      v.min_cosine = std::min(v.min_cosine, cosine);
      const int64_t last = a.dims().empty() ? 1 : a.dims().back();
      if (last < 2) continue;
      for (int64_t r = 0; r < a.numel() / last; ++r) {
        const float* xr = x + r * last;
        const float* yr = y + r * last;
        ++rows;
        agree += std::max_element(xr, xr + last) - xr == std::max_element(yr, yr + last) - yr;
      }
    }
  }
  v.argmax_agreement = rows ? static_cast<double>(agree) / rows : 1.0;
  return v;
}

}  // namespace kiln::compiler
