#include "model_binding.h"

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "arrays.h"
#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/text.h"
#include "kiln/topology.h"

namespace kiln::python {

namespace {

py::dict tensor_info(const TensorInfo& t) {
  py::dict d;
  d["name"] = t.name;
  d["dtype"] = std::string(dtype_name(t.dtype));
  d["shape"] = t.request;
  d["compiled_shape"] = t.compiled;
  d["batch_axis"] = t.batch_axis;
  d["seq_axis"] = t.seq_axis;
  d["role"] = t.role;
  return d;
}

py::dict model_info(const ModelInfo& i) {
  py::dict d;
  py::list inputs, outputs;
  for (const TensorInfo& t : i.inputs) inputs.append(tensor_info(t));
  for (const TensorInfo& t : i.outputs) outputs.append(tensor_info(t));
  d["path"] = i.path;
  d["inputs"] = inputs;
  d["outputs"] = outputs;
  d["task"] = std::string(task_name(i.task));
  d["labels"] = i.labels;
  d["precision"] = i.precision;
  d["batch"] = i.batch;
  d["buckets"] = i.seq_buckets;
  d["max_length"] = i.max_length;
  d["any_rows"] = i.any_rows;
  d["any_length"] = i.any_length;
  d["batching_reason"] = i.batching_reason;
  d["pad_id"] = i.pad_id;
  d["has_tokenizer"] = i.has_tokenizer;
  d["pipeline_stages"] = i.pipeline_stages;
  return d;
}

// One open model. Calls hold `mu_` shared with the GIL released, so Python threads run requests
// concurrently through the Engine; close() takes it exclusively, so it waits for calls in progress and
// every later call raises instead of touching a freed engine.
class PyModel {
 public:
  PyModel(const std::string& path, int instances, int threads, int max_batch, int64_t max_batch_delay_us,
          int pipeline, size_t max_queue) {
    EngineOptions o;
    o.instances = instances;
    o.pipeline_stages = pipeline;
    o.max_batch = max_batch;
    o.max_queue_delay_us = max_batch_delay_us;
    o.queue_capacity = max_queue;
    if (threads < 0) fail("threads must be >= 0 (0: every CPU this process may use), not ", threads);
    if (threads > 0) {
      if (instances != 1 || pipeline > 1)
        fail("threads applies to one instance without a pipeline; give instances and pipeline alone to split the CPUs");
      o.core_groups = threads_core_groups(threads);
    }
    py::gil_scoped_release unlocked;
    model_ = Model::open(path);
    engine_ = std::make_unique<Engine>(model_, o);
  }

  py::list run(const py::list& named) {
    std::vector<py::object> keep;
    std::vector<NamedTensor> inputs;
    for (py::handle item : named) {
      auto pair = item.cast<py::tuple>();
      std::string name = pair[0].cast<std::string>();
      inputs.push_back({name, input_tensor(name, pair[1], keep)});
    }
    std::vector<NamedTensor> outputs;
    {
      py::gil_scoped_release unlocked;
      std::shared_lock lock(mu_);
      outputs = engine().run(inputs);
    }
    py::list out;
    for (const NamedTensor& t : outputs) out.append(py::make_tuple(t.name, to_numpy(t.tensor)));
    return out;
  }

  py::list classify(const std::vector<std::string>& texts, const std::vector<std::string>& pairs) {
    std::vector<Classification> result;
    {
      py::gil_scoped_release unlocked;
      std::shared_lock lock(mu_);
      result = kiln::classify(engine(), texts, pairs);
    }
    py::list out;
    for (const Classification& c : result) {
      py::list scores;
      for (const LabelScore& s : c.scores)
        scores.append(py::dict(py::arg("label") = s.label, py::arg("index") = s.index, py::arg("score") = s.score,
                               py::arg("logit") = s.logit));
      out.append(py::dict(py::arg("label") = c.label, py::arg("index") = c.index, py::arg("score") = c.score,
                          py::arg("scores") = scores, py::arg("tokens") = c.tokens));
    }
    return out;
  }

  py::array embed(const std::vector<std::string>& texts, bool normalize) {
    std::vector<Embedding> result;
    {
      py::gil_scoped_release unlocked;
      std::shared_lock lock(mu_);
      result = kiln::embed(engine(), texts, normalize);
    }
    const size_t dim = result.empty() ? 0 : result[0].vector.size();
    py::array_t<float> out({static_cast<py::ssize_t>(result.size()), static_cast<py::ssize_t>(dim)});
    float* o = out.mutable_data();
    for (size_t r = 0; r < result.size(); ++r)
      std::copy(result[r].vector.begin(), result[r].vector.end(), o + r * dim);
    return out;
  }

  py::list tokenize(const std::vector<std::string>& texts, const std::vector<std::string>& pairs, bool truncate) {
    std::vector<Encoding> encodings;
    {
      py::gil_scoped_release unlocked;
      std::shared_lock lock(mu_);
      encodings = encode_texts(model(), texts, pairs, truncate);
    }
    py::list out;
    for (const Encoding& e : encodings)
      out.append(py::dict(py::arg("tokens") = e.tokens, py::arg("ids") = e.ids,
                          py::arg("token_type_ids") = e.token_type_ids, py::arg("attention_mask") = e.attention_mask));
    return out;
  }

  py::dict info() {
    std::shared_lock lock(mu_);
    return model_info(model().info());
  }

  void save(const std::string& path) {
    py::gil_scoped_release unlocked;
    std::shared_lock lock(mu_);
    model().save(path);
  }

  py::dict stats() {
    Engine::Stats s;
    {
      std::shared_lock lock(mu_);
      s = engine().stats();
    }
    py::dict d;
    d["requests"] = s.requests;
    d["rejected"] = s.rejected;
    d["completed"] = s.completed;
    d["failed"] = s.failed;
    d["calls"] = s.calls;
    d["rows"] = s.rows;
    d["queue_depth"] = s.queue_depth;
    d["in_flight"] = s.in_flight;
    d["queue_seconds"] = s.queue_seconds;
    d["compute_seconds"] = s.compute_seconds;
    d["end_to_end_seconds"] = s.end_to_end_seconds;
    return d;
  }

  void close() {
    py::gil_scoped_release unlocked;
    std::unique_lock lock(mu_);
    engine_.reset();  // finishes queued requests, stops the workers
    model_.reset();
  }

  bool closed() {
    std::shared_lock lock(mu_);
    return !engine_;
  }

 private:
  Engine& engine() {
    if (!engine_) fail("the model is closed (Model.close() was called); load it again with kiln.load()");
    return *engine_;
  }
  const Model& model() {
    engine();
    return *model_;
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Engine> engine_;
  std::shared_mutex mu_;
};

}  // namespace

void bind_model(py::module_& m) {
  py::class_<PyModel>(m, "Model")
      .def(py::init<const std::string&, int, int, int, int64_t, int, size_t>(), py::arg("path"),
           py::arg("instances") = 1, py::arg("threads") = 0, py::arg("max_batch") = 0,
           py::arg("max_batch_delay_us") = 0, py::arg("pipeline") = 0, py::arg("max_queue") = 1024)
      .def("run", &PyModel::run, py::arg("named"))
      .def("classify", &PyModel::classify, py::arg("texts"), py::arg("pairs"))
      .def("embed", &PyModel::embed, py::arg("texts"), py::arg("normalize"))
      .def("tokenize", &PyModel::tokenize, py::arg("texts"), py::arg("pairs"), py::arg("truncate"))
      .def("info", &PyModel::info)
      .def("save", &PyModel::save, py::arg("path"))
      .def("stats", &PyModel::stats)
      .def("close", &PyModel::close)
      .def_property_readonly("closed", &PyModel::closed);
}

}  // namespace kiln::python
