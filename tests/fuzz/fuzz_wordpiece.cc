// WordPiece tokenization of arbitrary bytes: the first line is text a, the rest its pair b; both
// encoded with truncation and padding, then without limits.
#include <string>

#include "fuzz_common.h"
#include "kiln/tokenizer.h"

namespace {

const kiln::WordPieceTokenizer& tokenizer() {
  static const kiln::WordPieceTokenizer t = kiln::WordPieceTokenizer::from_vocab_text(
      "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n,\n!\nun\n##aff\n##able\nco\n-\noperate\nwo\n##r\n##ld\n"
      "東\n京\ne\n##e\na\n##a\ncafe\n", true, "fuzz vocab");
  return t;
}

}  // namespace

KILN_FUZZ_TARGET({
  const size_t nl = input.find('\n');
  const std::string a(input.substr(0, nl));
  const std::string b(nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1));
  tokenizer().encode(a, nl == std::string_view::npos ? nullptr : &b, 16, true);
  tokenizer().encode(a, &b, 0, false);
})
