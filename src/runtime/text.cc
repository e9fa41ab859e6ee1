// Text tasks over the Engine (kiln/text.h): tokenize, build inputs by role, run, post-process.
#include "kiln/text.h"

#include <algorithm>
#include <cmath>

#include "kiln/error.h"

namespace kiln {
namespace {


std::string label_of(const ModelInfo& info, size_t i) {
  return i < info.labels.size() ? info.labels[i] : "LABEL_" + std::to_string(i);
}

// Output 0 as a [rows, n] f32 matrix, or an error naming what `what` needs.
const Tensor& matrix_output(const std::vector<NamedTensor>& out, size_t rows, const char* what) {
  if (out.empty()) fail(what, ": the model has no outputs");
  const Tensor& y = out[0].tensor;
  if (y.dtype() != DType::f32 || y.dims().size() != 2 || y.dims()[0] != static_cast<int64_t>(rows))
    fail(what, " needs output 0 as f32 [rows, n]; output '", out[0].name, "' is ", dtype_name(y.dtype()),
         dims_to_string(y.dims()));
  return y;
}

}  // namespace

const WordPieceTokenizer& tokenizer_of(const Model& model) {
  if (!model.tokenizer())
    fail("artifact '", model.info().path, "' has no tokenizer: compile it with --vocab vocab.txt or --tokenizer tokenizer.json");
  return *model.tokenizer();
}

std::vector<Encoding> encode_texts(const Model& model, const std::vector<std::string>& texts,
                                   const std::vector<std::string>& pairs, bool truncate) {
  if (!pairs.empty() && pairs.size() != texts.size())
    fail(texts.size(), " texts but ", pairs.size(), " pairs: give one pair per text, or none");
  const WordPieceTokenizer& tok = tokenizer_of(model);
  std::vector<Encoding> out;
  out.reserve(texts.size());
  const int64_t max = model.info().max_length;
  for (size_t i = 0; i < texts.size(); ++i) {
    // Without truncation, encode in full and refuse what does not fit (what fits encodes the same either way).
    out.push_back(tok.encode(texts[i], pairs.empty() ? nullptr : &pairs[i], truncate ? max : 0, false));
    if (!truncate && max > 0 && static_cast<int64_t>(out.back().ids.size()) > max)
      fail("text ", i, (pairs.empty() ? "" : " (with its pair)"), " is ", out.back().ids.size(),
           " tokens long, more than the model's longest sequence of ", max, " tokens; send a shorter text or enable truncation");
  }
  return out;
}

std::vector<NamedTensor> text_inputs(const Model& model, const std::vector<Encoding>& encodings) {
  size_t seq = 1;
  for (const Encoding& e : encodings) seq = std::max(seq, e.ids.size());
  const int64_t rows = static_cast<int64_t>(encodings.size());
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& in : model.info().inputs) {
    if (in.role != "token_ids" && in.role != "attention_mask" && in.role != "token_type_ids")
      fail("model input '", in.name, "' has no text role (token_ids, attention_mask or token_type_ids): "
           "compile with input_roles['", in.name, "'] set (--input-role ", in.name, "=ROLE)");
    const int64_t pad = in.role == "token_ids" ? model.info().pad_id : 0;
    Tensor t(DType::i64, {rows, static_cast<int64_t>(seq)});
    for (int64_t r = 0; r < rows; ++r) {
      const Encoding& e = encodings[r];
      const std::vector<int64_t>& src = in.role == "token_ids" ? e.ids : in.role == "attention_mask" ? e.attention_mask : e.token_type_ids;
      for (size_t i = 0; i < seq; ++i) t.data_as<int64_t>()[r * seq + i] = i < src.size() ? src[i] : pad;
    }
    inputs.push_back({in.name, std::move(t)});
  }
  return inputs;
}

std::vector<Classification> classifications(const Model& model, const Tensor& logits) {
  const int64_t rows = logits.dims().at(0), n = logits.numel() / std::max<int64_t>(rows, 1);
  std::vector<Classification> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits.data_as<float>() + r * n;
    const double mx = n ? *std::max_element(x, x + n) : 0;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
    for (int64_t i = 0; i < n; ++i) out[r].scores.push_back({label_of(model.info(), i), i, std::exp(x[i] - mx) / sum, x[i]});
    std::stable_sort(out[r].scores.begin(), out[r].scores.end(), [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
    if (n) {
      out[r].label = out[r].scores[0].label;
      out[r].index = out[r].scores[0].index;
      out[r].score = out[r].scores[0].score;
    }
  }
  return out;
}

std::vector<Classification> classify(Engine& engine, const std::vector<std::string>& texts, const std::vector<std::string>& pairs) {
  const Model& model = *engine.model();
  const Task task = model.info().task;
  if (task != Task::classification && task != Task::pair_classification)
    fail("classify needs a classification model; '", model.info().path, "' is compiled for task ", task_name(task),
         " (compile with --task classification, or use embed)");
  if (texts.empty()) return {};
  const std::vector<Encoding> enc = encode_texts(model, texts, pairs);
  const std::vector<NamedTensor> out = engine.run(text_inputs(model, enc));
  std::vector<Classification> c = classifications(model, matrix_output(out, texts.size(), "classify"));
  for (size_t i = 0; i < c.size(); ++i) c[i].tokens = enc[i].ids.size();
  return c;
}

std::vector<Embedding> embeddings(const std::vector<NamedTensor>& outputs, size_t rows, bool normalize) {
  const Tensor& y = matrix_output(outputs, rows, "embed");
  const int64_t dim = y.dims()[1];
  std::vector<Embedding> e(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* v = y.data_as<float>() + r * dim;
    e[r].vector.assign(v, v + dim);
    if (normalize) {
      double norm = 0;
      for (float x : e[r].vector) norm += double(x) * x;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (float& x : e[r].vector) x = static_cast<float>(x / norm);
    }
  }
  return e;
}

bool is_classifier(const ModelInfo& info) {
  return info.task == Task::classification || info.task == Task::pair_classification;
}

std::vector<Embedding> embed(Engine& engine, const std::vector<std::string>& texts, bool normalize) {
  const Model& model = *engine.model();
  const Task task = model.info().task;
  if (task != Task::embedding && task != Task::other)
    fail("embed needs an embedding model; '", model.info().path, "' is compiled for task ", task_name(task),
         " (use classify, or compile with --task embedding)");
  if (texts.empty()) return {};
  const std::vector<Encoding> enc = encode_texts(model, texts);
  std::vector<Embedding> e = embeddings(engine.run(text_inputs(model, enc)), texts.size(), normalize);
  for (size_t r = 0; r < texts.size(); ++r) e[r].tokens = enc[r].ids.size();
  return e;
}

}  // namespace kiln
