// Calibration JSON Lines for a model with inputs input_ids and attention_mask of 8 values per row.
#include <map>
#include <string>

#include "compiler/calibration.h"
#include "fuzz_common.h"

KILN_FUZZ_TARGET({
  static const std::map<std::string, int64_t> rows = {{"input_ids", 8}, {"attention_mask", 8}};
  kiln::compiler::read_calibration_text(input, "fuzz.jsonl", rows);
})
