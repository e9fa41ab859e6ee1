// The C++ WordPiece tokenizer on hand-checked strings with the real BERT uncased vocabulary
// (data/bert-base-uncased-vocab.txt); tests/e2e/test_tokenizer.py compares it with the Python reference
// on every SST-2 dev and MRPC test sentence.
#include <fstream>

#include "kiln/tokenizer.h"
#include "test_util.h"

namespace kiln::test {
namespace {

const WordPieceTokenizer& uncased() {
  static const WordPieceTokenizer t = WordPieceTokenizer::from_vocab_file(KILN_SOURCE_DIR "/data/bert-base-uncased-vocab.txt", true);
  return t;
}

using Tokens = std::vector<std::string>;

TEST(WordPiece, HandCheckedStrings) {
  const WordPieceTokenizer& t = uncased();
  EXPECT_EQ(t.tokenize("Hello, world!"), (Tokens{"hello", ",", "world", "!"}));
  // Accents stripped when uncased; "creme" is not in the vocabulary, so it splits into pieces.
  EXPECT_EQ(t.tokenize("Héllo Crème brûlée"), (Tokens{"hello", "cr", "##eme", "br", "##ule", "##e"}));
  // Every CJK ideograph is its own word: 世 is in the vocabulary, 你 and 界 are not.
  EXPECT_EQ(t.tokenize("你世界"), (Tokens{"[UNK]", "世", "[UNK]"}));
  // Emoji are not punctuation or CJK: a word with no vocabulary cover is [UNK].
  EXPECT_EQ(t.tokenize("great 🙂!"), (Tokens{"great", "[UNK]", "!"}));
  // Punctuation runs split into single characters.
  EXPECT_EQ(t.tokenize("wait...?!"), (Tokens{"wait", ".", ".", ".", "?", "!"}));
  EXPECT_EQ(t.tokenize("unaffable"), (Tokens{"una", "##ffa", "##ble"}));
  // Over 100 characters: [UNK] without trying pieces.
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), (Tokens{"[UNK]"}));
  EXPECT_EQ(t.tokenize(std::string(100, 'a')).front(), "aaa");
  EXPECT_TRUE(t.tokenize("").empty());
  EXPECT_TRUE(t.tokenize(" \t\n\r\u00a0 ").empty());  // only whitespace (U+00A0 is Zs)
  // Control characters vanish; tabs and newlines separate words.
  EXPECT_EQ(t.tokenize("a\x01" "b\tc\nd"), (Tokens{"ab", "c", "d"}));
  EXPECT_EQ(t.tokenize("don't"), (Tokens{"don", "'", "t"}));
}

TEST(WordPiece, EncodePairsTruncationAndPadding) {
  const WordPieceTokenizer& t = uncased();
  Encoding e = t.encode("a b c d", nullptr, 0, false);
  EXPECT_EQ(e.tokens, (Tokens{"[CLS]", "a", "b", "c", "d", "[SEP]"}));
  EXPECT_EQ(e.ids, (std::vector<int64_t>{101, 1037, 1038, 1039, 1040, 102}));
  // Longest first: the longer segment loses tokens until both fit in 8 with 3 specials.
  const std::string xy = "x y", b = "b";
  Encoding p = t.encode("a b c d e", &xy, 8, true);
  EXPECT_EQ(p.tokens, (Tokens{"[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"}));
  EXPECT_EQ(p.token_type_ids, (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1}));
  Encoding padded = t.encode("a", nullptr, 5, true);
  EXPECT_EQ(padded.tokens, (Tokens{"[CLS]", "a", "[SEP]", "[PAD]", "[PAD]"}));
  EXPECT_EQ(padded.attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(padded.ids.back(), 0);
  EXPECT_KILN_ERROR(t.encode("a", &b, 2, false), {"max length 2 is too small"});
}

TEST(WordPiece, CasedKeepsCaseAndAccents) {
  const WordPieceTokenizer t = WordPieceTokenizer::from_vocab_file(KILN_SOURCE_DIR "/data/bert-base-uncased-vocab.txt", false);
  // The uncased vocabulary has no capitals: cased words fall apart or become [UNK].
  EXPECT_EQ(t.tokenize("Hello hello"), (Tokens{"[UNK]", "hello"}));
}

TEST(WordPiece, ReadsTheTokenizerJsonWordPieceForm) {
  TempDir dir;
  const std::string path = dir.file("tokenizer.json");
  std::ofstream(path) << R"({"version": "1.0", "normalizer": {"type": "BertNormalizer", "lowercase": false},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 5,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "Un": 4, "##aff": 5, "##able": 6, "x": 7}}})";
  const WordPieceTokenizer t = WordPieceTokenizer::from_tokenizer_json(path);
  EXPECT_FALSE(t.lowercase());
  EXPECT_EQ(t.vocab_size(), 8u);
  EXPECT_EQ(t.tokenize("Unaff x xxxxxx"), (Tokens{"Un", "##aff", "x", "[UNK]"}));  // max 5 characters per word
  EXPECT_EQ(t.encode("x", nullptr, 0, false).ids, (std::vector<int64_t>{2, 7, 3}));
  std::ofstream(dir.file("bpe.json")) << R"({"model": {"type": "BPE", "vocab": {}}})";
  EXPECT_KILN_ERROR(WordPieceTokenizer::from_tokenizer_json(dir.file("bpe.json")), {"model type 'BPE' is not supported (expected WordPiece)"});
}

TEST(WordPiece, BadInputIsAClearError) {
  EXPECT_KILN_ERROR(uncased().tokenize("ok \xff bad"), {"not valid UTF-8", "offset 3"});
  EXPECT_KILN_ERROR(WordPieceTokenizer::from_vocab_file("/nonexistent/vocab.txt", true), {"cannot open vocabulary"});
  EXPECT_KILN_ERROR(WordPieceTokenizer::from_vocab_text("a\nb\n", true, "v.txt"), {"v.txt: the vocabulary has no [UNK] token"});
}

}  // namespace
}  // namespace kiln::test
