// Labelled TSV (kiln eval --data): with the default columns, and with columns chosen by name and index.
#include "fuzz_common.h"
#include "kiln/labeled_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = kiln::fuzz::bytes_of(data, size);
  kiln::fuzz::reject_cleanly([&] { kiln::parse_labeled_tsv(input, {}, "fuzz.tsv"); });
  kiln::fuzz::reject_cleanly([&] {
    kiln::LabeledColumns c;
    c.text = "sentence";
    c.pair = "2";
    c.header = "yes";
    kiln::parse_labeled_tsv(input, c, "fuzz.tsv");
  });
  return 0;
}
