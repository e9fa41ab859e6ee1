// Labelled text examples from a tab-separated file: what `kiln eval` (and anything that measures a text
// classifier) reads. The file holds an integer label column and one or two text columns (sentence
// pairs), with or without a header line; GLUE's SST-2 and MRPC TSVs read as they are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

struct LabeledExample {
  std::string text;
  std::string pair;   // the second sentence, when the data has pairs
  int64_t label = 0;
  size_t line = 0;    // 1-based line in the file, for errors
};

struct LabeledData {
  std::string name;  // the file, as errors name it
  bool pairs = false;
  std::vector<std::string> header;  // the column names, empty without a header line
  std::vector<LabeledExample> examples;
};

// Which columns to read. A column is a header name or a 0-based index; empty means the default:
// label: the column named "label", else column 0; text: the first other column; pair: the second other
// column, if the rows have one.
struct LabeledColumns {
  std::string text, pair, label;
  std::string header = "auto";  // "auto" (a first line whose label field is not an integer), "yes", "no"
};

// Parses `bytes` (named `name` in errors). Throws InvalidInputError naming the file, the line and the
// problem: an unknown column, a row with too few columns, a label that is not an integer or out of
// range, an empty file, no rows. CR LF line ends are accepted; blank lines are skipped.
LabeledData parse_labeled_tsv(std::string_view bytes, const LabeledColumns& columns, const std::string& name);
// The same for a file.
LabeledData read_labeled_tsv(const std::string& path, const LabeledColumns& columns);

}  // namespace kiln
