#include "kiln/evaluate.h"

#include <algorithm>
#include <chrono>

#include "kiln/error.h"
#include "kiln/text.h"

namespace kiln {

EvalReport evaluate(Engine& engine, const LabeledData& data, const std::function<void(size_t, size_t)>& progress) {
  const Model& model = *engine.model();
  const ModelInfo& info = model.info();
  if (info.task == Task::embedding || info.task == Task::token_classification)
    fail("eval needs a classifier; '", info.path, "' is compiled for task ", task_name(info.task));
  tokenizer_of(model);  // refused up front, not as an error of the first text
  EvalReport r;
  r.examples = data.examples.size();
  r.pairs = data.pairs;
  r.batch = std::max<int64_t>(engine.compiled_batch(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t first = 0; first < data.examples.size(); first += static_cast<size_t>(r.batch)) {
    const size_t n = std::min<size_t>(static_cast<size_t>(r.batch), data.examples.size() - first);
    std::vector<Encoding> enc;
    for (size_t i = first; i < first + n; ++i) {
      const LabeledExample& e = data.examples[i];
      try {
        enc.push_back(encode_texts(model, {e.text}, data.pairs ? std::vector<std::string>{e.pair} : std::vector<std::string>{})[0]);
      } catch (const InvalidInputError& err) {
        fail(data.name, ":", e.line, ": ", err.what());
      }
    }
    const auto a = std::chrono::steady_clock::now();
    const std::vector<NamedTensor> out = engine.run(text_inputs(model, enc));
    r.call_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    const Tensor& y = out.at(0).tensor;
    if (y.dims().size() != 2 || y.dtype() != DType::f32 || y.dims()[0] != static_cast<int64_t>(n))
      fail("output '", out[0].name, "' is ", dtype_name(y.dtype()), dims_to_string(y.dims()),
           ": eval expects an f32 [rows, classes] classifier output");
    r.classes = y.dims()[1];
    for (const Classification& c : classifications(model, y)) r.predictions.push_back(c.index);
    if (progress) progress(first + n, data.examples.size());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const LabeledExample& e : data.examples)
    if (e.label < 0 || e.label >= r.classes)
      fail(data.name, ":", e.line, ": label ", e.label, " is outside the model's ", r.classes, " classes");
  r.confusion.assign(r.classes, std::vector<int64_t>(r.classes, 0));
  for (size_t i = 0; i < data.examples.size(); ++i) {
    ++r.confusion[data.examples[i].label][r.predictions[i]];
    r.correct += data.examples[i].label == r.predictions[i];
  }
  r.f1.resize(r.classes);
  for (int64_t c = 0; c < r.classes; ++c) {
    int64_t tp = r.confusion[c][c], fp = 0, fn = 0;
    for (int64_t o = 0; o < r.classes; ++o)
      if (o != c) fp += r.confusion[o][c], fn += r.confusion[c][o];
    r.f1[c] = tp ? 2.0 * static_cast<double>(tp) / (2.0 * static_cast<double>(tp) + static_cast<double>(fp + fn)) : 0.0;
    r.f1_macro += r.f1[c] / static_cast<double>(r.classes);
    r.class_names.push_back(c < static_cast<int64_t>(info.labels.size()) ? info.labels[c] : "LABEL_" + std::to_string(c));
  }
  r.accuracy = static_cast<double>(r.correct) / static_cast<double>(data.examples.size());
  return r;
}

}  // namespace kiln
