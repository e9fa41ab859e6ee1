// Accuracy and speed of a text classifier on labelled examples, in one report: what `kiln eval` prints
// and the Python package returns. Examples are tokenized with the model's tokenizer and run through the
// Engine in calls of its compiled batch; the prediction is the argmax of output 0 ([rows, classes]).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/labeled_data.h"

namespace kiln {

struct EvalReport {
  size_t examples = 0;
  bool pairs = false;
  int64_t classes = 0;
  std::vector<std::string> class_names;          // the model's labels, LABEL_<i> where it has none
  double accuracy = 0;
  int64_t correct = 0;
  std::vector<double> f1;                         // per class
  double f1_macro = 0;
  std::vector<std::vector<int64_t>> confusion;    // [true label][predicted]
  std::vector<int64_t> predictions;               // per example
  int64_t batch = 0;                              // examples per call
  std::vector<double> call_ms;                    // each Engine call (tokenisation excluded)
  double seconds = 0;                             // the whole run, tokenisation included
};

// Runs every example. `progress(done, total)` is called after each call when given. Throws
// InvalidInputError for a model without a tokenizer, of task embedding or token-classification, or whose
// output 0 is not [rows, classes]; for a label outside [0, classes); and for a text the tokenizer
// refuses (naming its line).
EvalReport evaluate(Engine& engine, const LabeledData& data,
                    const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace kiln
