#include "cli/text_model.h"

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

}  // namespace kiln::cli
