#include "compile_binding.h"

#include <set>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "kiln/bench.h"
#include "kiln/compiler.h"
#include "kiln/error.h"
#include "kiln/npy.h"

namespace kiln::python {

namespace py = pybind11;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// kiln.compile's keyword arguments (None already dropped by the Python side) as CompileOptions. The names
// are the CLI's flags with underscores; an unknown one is an error listing them.
CompileOptions compile_options(const py::dict& kw) {
  static const std::set<std::string> known = {
      "batch", "seq", "auto_cast", "auto_cast_type", "quantize", "calibrate", "pipeline_cores", "verify",
      "tolerance", "vocab", "lowercase", "labels", "task", "pad_id", "dims", "input_roles", "fuse"};
  CompileOptions o;
  for (auto [key, value] : kw) {
    const std::string k = key.cast<std::string>();
    if (!known.count(k)) {
      std::string list;
      for (const std::string& n : known) list += (list.empty() ? "" : ", ") + n;
      fail("kiln.compile: unknown option '", k, "' (options: ", list, ")");
    }
    try {
      if (k == "batch") o.batch = value.cast<int64_t>();
      else if (k == "seq") {
        if (py::isinstance<py::int_>(value)) o.seq = value.cast<int64_t>();
        else o.seq_buckets = value.cast<std::vector<int64_t>>();
      } else if (k == "auto_cast") o.auto_cast = value.cast<std::string>();
      else if (k == "auto_cast_type") o.cast_type = value.cast<std::string>();
      else if (k == "quantize") o.quantize = value.cast<std::string>();
      else if (k == "calibrate") o.calibration_file = value.cast<std::string>();
      else if (k == "pipeline_cores") o.pipeline_stages = value.cast<int>();
      else if (k == "verify") o.verify = value.cast<bool>();
      else if (k == "tolerance") {
        o.tolerance = value.cast<double>();
        o.verify = true;  // as --tolerance implies --verify
      } else if (k == "vocab") {
        // A tokenizer.json or a vocab.txt, as `kiln compile --vocab` / `--tokenizer`.
        const std::string path = value.cast<std::string>();
        (ends_with(path, ".json") ? o.tokenizer_file : o.vocab_file) = path;
      } else if (k == "lowercase") o.lowercase = value.cast<bool>();
      else if (k == "labels") o.labels = value.cast<std::vector<std::string>>();
      else if (k == "task") o.task = value.cast<std::string>();
      else if (k == "pad_id") o.pad_id = value.cast<int64_t>();
      else if (k == "dims") o.dims = value.cast<std::map<std::string, int64_t>>();
      else if (k == "input_roles") o.input_roles = value.cast<std::map<std::string, std::string>>();
      else if (k == "fuse") o.fuse = value.cast<bool>();
    } catch (const py::cast_error&) {
      fail("kiln.compile: option '", k, "' cannot be a ", py::str(value.get_type().attr("__name__")).cast<std::string>());
    }
  }
  return o;
}

py::dict report_dict(const CompileReport& r) {
  py::dict d;
  d["source_nodes"] = r.source_nodes;
  d["folded_nodes"] = r.folded_nodes;
  d["removed_nodes"] = r.removed_nodes;
  py::dict fused;
  for (const auto& [op, n] : r.fused) fused[py::str(op)] = n;
  d["fused"] = fused;
  d["steps"] = r.steps;
  d["weight_bytes"] = r.weight_bytes;
  d["arena_bytes"] = r.arena_bytes;
  d["artifact_bytes"] = r.artifact_bytes;
  d["seconds"] = r.seconds;
  d["precision"] = r.precision;
  d["quantized_gemms"] = r.quantized_gemms;
  d["seq_buckets"] = r.seq_buckets;
  d["stage_costs"] = r.stage_costs;
  if (r.verification.ran) {
    d["verification"] = py::dict(py::arg("samples") = r.verification.samples,
                                 py::arg("max_abs_error") = r.verification.max_abs_error,
                                 py::arg("max_rel_error") = r.verification.max_rel_error,
                                 py::arg("min_cosine") = r.verification.min_cosine,
                                 py::arg("argmax_agreement") = r.verification.argmax_agreement);
  }
  return d;
}

}  // namespace

void bind_compile(py::module_& m) {
  m.def("compile_file", [](const std::string& model_path, const std::string& artifact_path, const py::dict& options) {
    CompileOptions o = compile_options(options);
    CompileReport r;
    {
      py::gil_scoped_release unlocked;
      r = compile_file(model_path, artifact_path, o);
    }
    return report_dict(r);
  }, py::arg("model_path"), py::arg("artifact_path"), py::arg("options"));

  // (JSON text, table text) of the operator-support report.
  m.def("analyze", [](const std::string& model_path) {
    AnalysisReport r;
    {
      py::gil_scoped_release unlocked;
      r = analyze_file(model_path);
    }
    return py::make_tuple(analysis_json(r, model_path), analysis_table(r, model_path));
  }, py::arg("model_path"));

  m.def("bench", [](const std::vector<std::string>& artifacts, double seconds, int warmup, int rounds, int threads,
                    bool engine) {
    BenchOptions o;
    o.seconds = seconds;
    o.warmup = warmup;
    o.rounds = rounds;
    o.threads = threads;
    o.engine = engine;
    py::gil_scoped_release unlocked;
    return bench_json(bench(artifacts, o));
  }, py::arg("artifacts"), py::arg("seconds"), py::arg("warmup"), py::arg("rounds"), py::arg("threads"),
     py::arg("engine"));

  m.def("bench_sweep", [](const std::vector<std::string>& artifacts, const std::vector<int>& batch,
                          const std::vector<int>& instances, const std::vector<int>& pipeline,
                          const std::vector<int>& concurrency, int64_t max_delay_us, double seconds,
                          double latency_budget_ms) {
    SweepOptions o;
    o.artifacts = artifacts;
    o.batch = batch;
    o.instances = instances;
    o.pipeline = pipeline;
    o.concurrency = concurrency;
    o.max_delay_us = max_delay_us;
    o.seconds = seconds;
    o.latency_budget_ms = latency_budget_ms;
    py::gil_scoped_release unlocked;
    return sweep_json(bench_sweep(o));
  }, py::arg("artifacts"), py::arg("batch"), py::arg("instances"), py::arg("pipeline"), py::arg("concurrency"),
     py::arg("max_delay_us"), py::arg("seconds"), py::arg("latency_budget_ms"));
}

}  // namespace kiln::python
