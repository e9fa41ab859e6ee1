// vocab.txt bytes, then a fixed sentence tokenized with the vocabulary they define.
#include <string>

#include "fuzz_common.h"
#include "kiln/tokenizer.h"

KILN_FUZZ_TARGET({
  const kiln::WordPieceTokenizer t = kiln::WordPieceTokenizer::from_vocab_text(std::string(input), true, "fuzz-vocab.txt");
  t.encode("Hello, wörld! unaffable 東京 co-operate", nullptr, 32, true);
})
