// Hugging Face tokenizer.json bytes, then a fixed sentence tokenized with the tokenizer they define.
#include "fuzz_common.h"
#include "kiln/tokenizer.h"

KILN_FUZZ_TARGET({
  const kiln::WordPieceTokenizer t = kiln::WordPieceTokenizer::from_tokenizer_json_text(input, "fuzz-tokenizer.json");
  t.encode("Hello, wörld! unaffable 東京", nullptr, 32, true);
})
