// What the text commands (tokenize, run --text, eval) print; the work is the library's (kiln/text.h).
#pragma once

#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/model.h"
#include "kiln/text.h"
#include "kiln/tokenizer.h"

namespace kiln::cli {

struct TextModel {
  std::shared_ptr<const Model> model;
  const WordPieceTokenizer& tokenizer;  // the model's
  const std::vector<std::string>& labels;
  int64_t max_length;  // the longest compiled sequence: texts are truncated to it
};

// Throws kiln::Error when the artifact has no tokenizer (compile it with --vocab or --tokenizer).
TextModel load_text_model(const std::string& artifact_path);
TextModel text_model_of(std::shared_ptr<const Model> model);

// The model inputs for a batch of encodings (kiln::text_inputs).
std::vector<NamedTensor> inputs_for(const TextModel& model, const Engine& engine, const std::vector<Encoding>& encodings);

}  // namespace kiln::cli
