// Text in, answers out, through an Engine whose model holds a tokenizer (`kiln compile --vocab` /
// `--tokenizer`, or a Hugging Face folder). What `kiln run --text`, `kiln eval`, the server's text routes
// and Python's Model.classify / Model.embed all call.
//
//   kiln::Engine engine("sst2.kiln");
//   std::vector<kiln::Classification> c = kiln::classify(engine, {"a wonderful film", "dull"});
//   c[0].label;   // "positive"      c[0].score: its softmax probability
//
// Texts are tokenized with the model's tokenizer, truncated to its longest compiled length, and run
// together: the engine batches them into calls of the compiled batch (and pads each to its bucket).
// Thread safety: as Engine::run (any number of threads at once).
#pragma once

#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/model.h"
#include "kiln/tokenizer.h"

namespace kiln {

struct LabelScore {
  std::string label;  // the model's class name, or LABEL_<i> when it has none
  int64_t index = 0;  // the class index i
  double score = 0;   // softmax probability
  float logit = 0;
};

struct Classification {
  std::string label;               // the most likely class
  int64_t index = 0;               // its class index (the first of equal scores)
  double score = 0;                // its probability
  std::vector<LabelScore> scores;  // every class, most likely first
  size_t tokens = 0;               // tokens the text (and pair) took, specials included
};

// A classifier (task classification or pair-classification): softmax over output 0, [rows, classes].
// `pairs` is empty or holds one second text per text (sentence-pair models). Throws InvalidInputError
// for a model without a tokenizer or of another task, or pairs of another count.
std::vector<Classification> classify(Engine& engine, const std::vector<std::string>& texts,
                                     const std::vector<std::string>& pairs = {});

struct Embedding {
  std::vector<float> vector;
  size_t tokens = 0;
};

// An embedding model (task embedding, or other): output 0 per text, which must be [rows, dim] (the
// model's own pooling; a per-token output is refused). With `normalize`, each vector has unit L2 norm.
std::vector<Embedding> embed(Engine& engine, const std::vector<std::string>& texts, bool normalize = false);

// The pieces, for front ends that batch or print themselves:
// the model's tokenizer (throws InvalidInputError naming the artifact when it has none);
const WordPieceTokenizer& tokenizer_of(const Model& model);
// encodings of texts (and pairs), truncated to the model's longest compiled length; with truncate false,
// a text (or pair) longer than that throws InvalidInputError naming it and both lengths instead;
std::vector<Encoding> encode_texts(const Model& model, const std::vector<std::string>& texts,
                                   const std::vector<std::string>& pairs = {}, bool truncate = true);
// the model inputs for them, by input role (token ids, attention mask, token types): [rows, longest]
// int64, padded with the model's pad id (token ids) and 0;
std::vector<NamedTensor> text_inputs(const Model& model, const std::vector<Encoding>& encodings);
// softmax over each row of a [rows, n] f32 tensor, with labels; most likely first.
std::vector<Classification> classifications(const Model& model, const Tensor& logits);
// the rows of a [rows, dim] f32 output as embeddings (unit L2 norm with `normalize`); throws
// InvalidInputError for another shape (a per-token output needs pooling the model does not have).
std::vector<Embedding> embeddings(const std::vector<NamedTensor>& outputs, size_t rows, bool normalize);
// whether the model's task is served by classify() (classification, pair-classification) or embed()
// (embedding, other).
bool is_classifier(const ModelInfo& info);

}  // namespace kiln
