// Hugging Face checkpoint folders: `kiln compile path/to/hf-model/`. The folder holds config.json,
// model.safetensors (or pytorch_model.bin, zip or legacy, read without executing its pickle; or either sharded,
// with its .index.json) and, optionally, vocab.txt or tokenizer.json (and tokenizer_config.json's
// do_lower_case). Supported: model_type bert, roberta, xlm-roberta, distilbert, electra, as the bare
// encoder (*Model: output last_hidden_state) or *ForSequenceClassification (output logits, class names
// from id2label). The graph is built from the config; every checkpoint tensor is checked against the
// shape the config implies, and tensors the architecture does not use are an error (the embeddings'
// position_ids and token_type_ids buffers aside, which transformers ignores too).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::frontend {

struct HfModel {
  ir::Graph graph;
  std::string model_type, architecture;
  std::string sha256;                  // of the weights file (the shards' bytes in index order when sharded)
  std::vector<std::string> labels;     // id2label, by id (classifiers)
  std::string vocab_file, tokenizer_file;
  bool lowercase = true;
  int64_t pad_id = 0;
};

HfModel import_hf_folder(const std::string& dir);
bool is_hf_folder(const std::string& path);

}  // namespace kiln::frontend
