// A text classifier whose answers are known, for the text and eval tests: input_ids [batch, sequence] ->
// Gather rows of a [V, 2] table -> sum over the sequence -> logits [batch, 2] (labels positive, negative).
// The table gives "good" (2, 0) and "bad" (0, 2); every other token, [PAD] included, (0, 0). Compiled for
// batch 2, sequence 8, with a WordPiece vocabulary and the given task.
#pragma once

#include <string>

#include "compile_graph.h"
#include "test_util.h"

namespace kiln::test {

inline const char* kSentimentVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\nbad\nfilm\n";

inline void compile_sentiment(const std::string& path, const std::string& task) {
  GraphBuilder b;
  int ids = b.input("input_ids", DType::i64, shape({"batch", "sequence"}));
  Tensor table(DType::f32, {7, 2});
  table.data_as<float>()[4 * 2 + 0] = 2.0f;
  table.data_as<float>()[5 * 2 + 1] = 2.0f;
  int rows = b.node1("Gather", {b.constant("table", std::move(table)), ids}, "rows", Attr().i("axis", 0));
  Tensor axes(DType::i64, {1});
  axes.data_as<int64_t>()[0] = 1;
  b.output(b.node1("ReduceSum", {rows, b.constant("axes", std::move(axes))}, "logits", Attr().i("keepdims", 0)));
  CompileOptions o;
  o.batch = 2;
  o.seq = 8;
  compile_graph(path, b.g, o,
                {{"task", task}, {"labels", {"positive", "negative"}}, {"pad_id", 0}, {"tokenizer", {{"type", "wordpiece"}, {"lowercase", true}}}},
                {{"input_ids", {{"role", "token_ids"}, {"vocab_size", 7}}}}, {{"VOCAB", kSentimentVocab}});
}

}  // namespace kiln::test
