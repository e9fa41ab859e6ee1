// What the text commands (tokenize, run --text, eval) need from an artifact: its tokenizer, class names
// and an engine to run it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/tokenizer.h"

namespace kiln::cli {

struct TextModel {
  WordPieceTokenizer tokenizer;
  std::vector<std::string> labels;   // from `kiln compile --labels`; empty: LABEL_0, LABEL_1, ...
  int64_t max_length = 0;            // the longest compiled sequence: texts are truncated to it
  std::map<std::string, std::string> roles;  // model input -> token_ids | attention_mask | token_type_ids | other
};

// Throws kiln::Error when the artifact has no tokenizer (compile it with --vocab or --tokenizer).
TextModel load_text_model(const std::string& artifact_path);

// The model inputs for a batch of encodings, by input role (token ids, attention mask, token types),
// each [rows, seq] int64 with seq the longest encoding.
std::vector<NamedTensor> inputs_for(const TextModel& model, const Engine& engine, const std::vector<Encoding>& encodings);

// Softmax of each row of a [rows, classes] tensor.
std::vector<std::vector<double>> softmax_rows(const Tensor& logits);

}  // namespace kiln::cli
