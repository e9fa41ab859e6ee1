// .kiln artifact bytes: every check MappedArtifact makes (header, section table, META, plans, weights).
// The fuzz build skips checksum comparison (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) so inputs reach the
// parsers behind them.
#include "artifact/artifact.h"
#include "fuzz_common.h"
#include "kiln/tokenizer.h"

KILN_FUZZ_TARGET({
  kiln::artifact::MappedArtifact a(kiln::artifact::MappedArtifact::FromBytes{}, input, "fuzz.kiln");
  const std::string vocab = a.section("VOCAB");
  if (!vocab.empty()) kiln::WordPieceTokenizer::from_vocab_text(vocab, true, "fuzz.kiln VOCAB");
})
