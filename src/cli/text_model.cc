#include "cli/text_model.h"

#include <algorithm>
#include <cmath>

#include "kiln/error.h"

namespace kiln::cli {

TextModel text_model_of(std::shared_ptr<const Model> model) {
  if (!model->tokenizer())
    fail("artifact '", model->info().path, "' has no tokenizer: compile it with --vocab vocab.txt or --tokenizer tokenizer.json");
  const Model& m = *model;
  return TextModel{std::move(model), *m.tokenizer(), m.info().labels, m.info().max_length};
}

TextModel load_text_model(const std::string& artifact_path) { return text_model_of(Model::open(artifact_path)); }

std::vector<NamedTensor> inputs_for(const TextModel& model, const Engine&, const std::vector<Encoding>& encodings) {
  return text_inputs(*model.model, encodings);
}

std::vector<std::vector<double>> softmax_rows(const Tensor& logits) {
  const int64_t rows = logits.dims().at(0), n = logits.numel() / std::max<int64_t>(rows, 1);
  std::vector<std::vector<double>> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits.data_as<float>() + r * n;
    const double mx = *std::max_element(x, x + n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
    for (int64_t i = 0; i < n; ++i) out[r].push_back(std::exp(x[i] - mx) / sum);
  }
  return out;
}

}  // namespace kiln::cli
