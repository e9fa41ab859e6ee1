#include "kiln/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kiln/error.h"
#include "util/file.h"
#include "util/untrusted.h"

namespace kiln {
namespace {

std::u32string decode(const std::string& s, const char* what) {
  std::u32string out;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t i = 0, n = static_cast<utf8proc_ssize_t>(s.size());
  while (i < n) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, n - i, &cp);
    if (len < 0 || cp < 0)
      fail(what, " is not valid UTF-8 (byte 0x", std::hex, static_cast<int>(p[i]), std::dec, " at offset ", i, ")");
    out.push_back(static_cast<char32_t>(cp));
    i += len;
  }
  return out;
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  utf8proc_uint8_t buf[4];
  for (char32_t c : s) {
    const utf8proc_ssize_t len = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
    out.append(reinterpret_cast<const char*>(buf), len);
  }
  return out;
}

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool is_whitespace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || category(c) == UTF8PROC_CATEGORY_ZS; }

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: return true;
    default: return false;
  }
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO: return true;
    default: return false;
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// utf8proc normalisation of a code point sequence (NFC, or NFD for accent stripping).
std::u32string normalize(const std::u32string& s, utf8proc_option_t options) {
  const std::string utf8 = encode_utf8(s);
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                          static_cast<utf8proc_ssize_t>(utf8.size()), &out, options);
  if (n < 0) fail("cannot normalise text: ", utf8proc_errmsg(n));
  std::string r(reinterpret_cast<const char*>(out), n);
  std::free(out);
  return decode(r, "normalised text");
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_vocab_text(const std::string& text, bool lowercase, const std::string& where) {
  WordPieceTokenizer t;
  t.lowercase_ = lowercase;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (t.id_to_token_.size() >= kMaxVocabSize) fail(where, ": the vocabulary has more than ", kMaxVocabSize, " tokens");
    t.max_token_bytes_ = std::max(t.max_token_bytes_, line.size());
    t.vocab_.emplace(line, static_cast<int64_t>(t.id_to_token_.size()));
    t.id_to_token_.push_back(std::move(line));
  }
  for (const char* special : {"[UNK]", "[CLS]", "[SEP]", "[PAD]"})
    if (!t.vocab_.count(special)) fail(where, ": the vocabulary has no ", special, " token (", t.id_to_token_.size(), " tokens read)");
  return t;
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, bool lowercase) {
  return from_vocab_text(read_file(path, "vocabulary"), lowercase, path);
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json(const std::string& path) {
  return from_tokenizer_json_text(read_file(path, "tokenizer"), path);
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json_text(std::string_view text, const std::string& name) {
  const std::string where = "'" + name + "'";
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_object()) fail(where, " must hold a JSON object, found ", json_kind(j));
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& model = j.contains("model") && !j["model"].is_null() ? j["model"] : kEmpty;
  const std::string mw = where + ": model";
  const std::string type = json_string(model, "type", "", mw);
  if (type != "WordPiece") fail(where, ": model type '", type.empty() ? "?" : type, "' is not supported (expected WordPiece)");
  const nlohmann::json& vocab = model.contains("vocab") ? model["vocab"] : kEmpty;
  if (!vocab.is_object()) fail(mw, ": field 'vocab' must be an object mapping tokens to ids, found ", json_kind(vocab));
  if (vocab.size() > kMaxVocabSize) fail(mw, ": the vocabulary has more than ", kMaxVocabSize, " tokens");
  // vocab.txt form, one token per line at its id: every id 0..n-1 exactly once, no line breaks in tokens.
  std::vector<std::string> by_id(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [tok, id] : vocab.items()) {
    const int64_t i = as_int(id, mw + ": the id of token '" + tok + "'");
    if (i < 0 || i >= static_cast<int64_t>(by_id.size())) fail(where, ": token '", tok, "' has id ", i, " outside the vocabulary");
    if (seen[i]) fail(where, ": token '", tok, "' has id ", i, ", which token '", by_id[i], "' has too");
    if (tok.find_first_of("\r\n") != std::string::npos) fail(where, ": token id ", i, " contains a line break");
    seen[i] = true;
    by_id[i] = tok;
  }
  std::string vocab_text;
  for (const std::string& t : by_id) vocab_text += t + "\n";
  const nlohmann::json& norm = j.contains("normalizer") && j["normalizer"].is_object() ? j["normalizer"] : kEmpty;
  WordPieceTokenizer t = from_vocab_text(vocab_text, json_bool(norm, "lowercase", true, where + ": normalizer"), name);
  t.unk_ = json_string(model, "unk_token", "[UNK]", mw);
  if (!t.vocab_.count(t.unk_)) fail(mw, ": unk_token '", t.unk_, "' is not in the vocabulary");
  t.prefix_ = json_string(model, "continuing_subword_prefix", "##", mw);
  const int64_t max_chars = json_int(model, "max_input_chars_per_word", 100, mw);
  if (max_chars < 1) fail(mw, ": field 'max_input_chars_per_word' must be positive, found ", max_chars);
  t.max_chars_ = static_cast<size_t>(max_chars);
  return t;
}

std::string WordPieceTokenizer::vocab_text() const {
  std::string s;
  for (const std::string& t : id_to_token_) s += t + "\n";
  return s;
}

int64_t WordPieceTokenizer::id_of(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? vocab_.at(unk_) : it->second;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text) const {
  std::u32string cleaned;
  for (char32_t c : decode(text, "the text")) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(' ');
    } else if (is_cjk(c)) {
      cleaned.push_back(' ');
      cleaned.push_back(c);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(c);
    }
  }
  cleaned = normalize(cleaned, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::vector<std::string> tokens;
  std::u32string word;
  auto flush_word = [&] {
    if (word.empty()) return;
    std::u32string w = word;
    word.clear();
    if (lowercase_) {
      for (char32_t& c : w) c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
      std::u32string stripped;
      for (char32_t c : normalize(w, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE)))
        if (category(c) != UTF8PROC_CATEGORY_MN) stripped.push_back(c);
      w = stripped;
    }
    std::u32string cur;
    for (char32_t c : w) {
      if (is_punctuation(c)) {
        if (!cur.empty()) tokens.push_back(encode_utf8(cur)), cur.clear();
        tokens.push_back(encode_utf8(std::u32string(1, c)));
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) tokens.push_back(encode_utf8(cur));
  };
  for (char32_t c : cleaned) {
    if (is_whitespace(c)) flush_word();
    else word.push_back(c);
  }
  flush_word();
  return tokens;
}

void WordPieceTokenizer::wordpiece(const std::u32string& word, std::vector<std::string>& out) const {
  if (word.size() > max_chars_) {
    out.push_back(unk_);
    return;
  }
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < word.size()) {
    // No vocabulary entry is longer than max_token_bytes_ bytes, so no longer piece (every code point is
    // at least one byte) can match: start there, which keeps a long word from costing O(length^3).
    size_t end = std::min(word.size(), start + max_token_bytes_);
    std::string found;
    while (start < end) {
      std::string piece = encode_utf8(word.substr(start, end - start));
      if (start > 0) piece = prefix_ + piece;
      if (vocab_.count(piece)) {
        found = piece;
        break;
      }
      --end;
    }
    if (found.empty()) {
      out.push_back(unk_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (const std::string& w : basic_tokenize(text)) wordpiece(decode(w, "a word"), out);
  return out;
}

Encoding WordPieceTokenizer::encode(const std::string& text, const std::string* pair, int64_t max_length, bool pad) const {
  if (max_length > kMaxEncodeLength) fail("max length ", max_length, " is larger than the ", kMaxEncodeLength, " tokens Kiln encodes");
  std::vector<std::string> a = tokenize(text), b;
  if (pair) b = tokenize(*pair);
  if (max_length > 0) {
    const int64_t budget = max_length - (pair ? 3 : 2);
    if (budget < 0) fail("max length ", max_length, " is too small for the special tokens");
    while (static_cast<int64_t>(a.size() + b.size()) > budget) {  // longest first
      if (pair && b.size() > a.size()) b.pop_back();
      else a.pop_back();
    }
  }
  Encoding e;
  e.tokens.push_back("[CLS]");
  e.tokens.insert(e.tokens.end(), a.begin(), a.end());
  e.tokens.push_back("[SEP]");
  e.token_type_ids.assign(e.tokens.size(), 0);
  if (pair) {
    e.tokens.insert(e.tokens.end(), b.begin(), b.end());
    e.tokens.push_back("[SEP]");
    e.token_type_ids.resize(e.tokens.size(), 1);
  }
  e.attention_mask.assign(e.tokens.size(), 1);
  if (pad && max_length > 0)
    while (static_cast<int64_t>(e.tokens.size()) < max_length) {
      e.tokens.push_back("[PAD]");
      e.token_type_ids.push_back(0);
      e.attention_mask.push_back(0);
    }
  for (const std::string& t : e.tokens) e.ids.push_back(id_of(t));
  return e;
}

}  // namespace kiln
