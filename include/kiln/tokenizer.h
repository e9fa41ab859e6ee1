// BERT WordPiece tokenization in C++ (no Python at run time), as Hugging Face's BertTokenizer applies the
// algorithm of the original BERT release:
//   basic tokenizer   drop NUL, U+FFFD and control characters; map whitespace to spaces; put spaces
//                     around CJK ideographs; NFC; split on whitespace; when uncased, lower-case and strip
//                     accents (NFD, drop combining marks); split off every punctuation character
//   wordpiece         greedy longest match against the vocabulary, continuations prefixed "##"; a word
//                     with no full cover, or longer than 100 characters, becomes [UNK]
//   encode            [CLS] a [SEP] (b [SEP]), token types 0 then 1, longest-first truncation to
//                     max_length, optional [PAD] / mask 0 padding
// Unicode data (categories, normalisation, case) comes from libutf8proc. Invalid UTF-8 is an error
// naming the byte offset. `tools/text/wordpiece.py` is the Python reference the tests compare with.
//
//   kiln::WordPieceTokenizer tok = kiln::WordPieceTokenizer::from_vocab_file("vocab.txt", /*lowercase=*/true);
//   kiln::Encoding e = tok.encode("Hello, world!", nullptr, 128, /*pad=*/true);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kiln {

struct Encoding {
  std::vector<std::string> tokens;
  std::vector<int64_t> ids, token_type_ids, attention_mask;
};

class WordPieceTokenizer {
 public:
  // Limits on untrusted input: vocabulary entries, and max_length of encode().
  static constexpr size_t kMaxVocabSize = 16'000'000;
  static constexpr int64_t kMaxEncodeLength = 1'000'000;

  // One token per line (BERT's vocab.txt). Throws kiln::Error for a missing file or a vocabulary
  // without [UNK], [CLS], [SEP] and [PAD], or of more than kMaxVocabSize tokens.
  static WordPieceTokenizer from_vocab_file(const std::string& path, bool lowercase);
  // The same from the file's text; `where` names it in errors.
  static WordPieceTokenizer from_vocab_text(const std::string& text, bool lowercase, const std::string& where);
  // Hugging Face tokenizer.json with a WordPiece model (its vocab, unk token, continuing prefix and
  // max chars per word; lower-casing from the BertNormalizer). Errors name the file and the field.
  static WordPieceTokenizer from_tokenizer_json(const std::string& path);
  // The same from the file's text; `name` stands for the file in errors.
  static WordPieceTokenizer from_tokenizer_json_text(std::string_view text, const std::string& name);

  std::vector<std::string> tokenize(const std::string& text) const;
  // Any bytes: invalid UTF-8 is a kiln::Error naming the offset.
  // max_length 0: no truncation; at most kMaxEncodeLength. `pair` may be nullptr.
  Encoding encode(const std::string& text, const std::string* pair, int64_t max_length, bool pad) const;

  bool lowercase() const { return lowercase_; }
  size_t vocab_size() const { return id_to_token_.size(); }
  // The vocabulary as vocab.txt text (what an artifact stores).
  std::string vocab_text() const;

 private:
  std::vector<std::string> basic_tokenize(const std::string& text) const;
  void wordpiece(const std::u32string& word, std::vector<std::string>& out) const;
  int64_t id_of(const std::string& token) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  bool lowercase_ = true;
  std::string unk_ = "[UNK]", prefix_ = "##";
  size_t max_chars_ = 100;
  size_t max_token_bytes_ = 0;  // longest vocabulary entry, in bytes
};

}  // namespace kiln
