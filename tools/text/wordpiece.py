"""BERT WordPiece tokenization in plain Python (the reference for Kiln's tests and training scripts).

Follows the algorithm of the original BERT release (Devlin et al., tokenization.py) as Hugging Face's
BertTokenizer applies it:

  basic tokenizer   drop NUL, U+FFFD and control characters; map whitespace to spaces; put spaces
                    around CJK ideographs; NFC-normalise; split on whitespace; when uncased,
                    lower-case and strip accents (NFD, drop combining marks); split off punctuation
                    (ASCII symbol ranges and every Unicode P* category) as single-character tokens
  wordpiece         greedy longest-match-first against the vocabulary, continuation pieces
                    prefixed "##"; a word with no full cover, or longer than 100 characters, is [UNK]
  encode            [CLS] a [SEP] (b [SEP]), token types 0 then 1, longest-first truncation, optional
                    padding with [PAD] / mask 0

Only the standard library is used.
"""

import unicodedata


def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    return vocab


def _is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower=True):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out))
    tokens = []
    for word in text.split():
        if lower:
            word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(ch)
            else:
                current += ch
        if current:
            tokens.append(current)
    return tokens


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = piece
                break
            end -= 1
        if found is None:
            return [unk]
        pieces.append(found)
        start = end
    return pieces


class WordPieceTokenizer:
    def __init__(self, vocab_path, lower=True):
        self.vocab = load_vocab(vocab_path)
        self.lower = lower

    def tokenize(self, text):
        return [p for w in basic_tokenize(text, self.lower) for p in wordpiece(w, self.vocab)]

    def encode(self, text, pair=None, max_length=None, pad=False):
        """Returns (tokens, ids, token_type_ids, attention_mask)."""
        a = self.tokenize(text)
        b = self.tokenize(pair) if pair is not None else None
        if max_length is not None:
            budget = max_length - (3 if b is not None else 2)
            if budget < 0:
                raise ValueError("max_length %d is too small for the special tokens" % max_length)
            while len(a) + (len(b) if b is not None else 0) > budget:  # longest first
                if b is not None and len(b) > len(a):
                    b.pop()
                else:
                    a.pop()
        tokens = ["[CLS]"] + a + ["[SEP]"]
        types = [0] * len(tokens)
        if b is not None:
            tokens += b + ["[SEP]"]
            types += [1] * (len(b) + 1)
        mask = [1] * len(tokens)
        if pad and max_length is not None:
            n = max_length - len(tokens)
            tokens += ["[PAD]"] * n
            types += [0] * n
            mask += [0] * n
        ids = [self.vocab[t] for t in tokens]
        return tokens, ids, types, mask


def read_glue_tsv(path):
    """(label, sentence[, sentence2]) rows of a GLUE-style TSV with a header line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows.append((int(cols[0]), *cols[1:]))
    return rows
