#!/usr/bin/python3
"""The C++ tokenizer (`kiln tokenize --lines`) against the Python reference (tools/text/wordpiece.py) on
every SST-2 dev and MRPC test sentence plus tricky strings, and `kiln eval` against metrics computed here
from `kiln run --text` predictions on a small labelled file.

    /usr/bin/python3 tests/e2e/test_tokenizer.py --kiln build/kiln
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "text"))
import wordpiece  # noqa: E402

VOCAB = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")
TRICKY = ["Héllo, WORLD!!!", "naïve café — résumé", "你好，世界。", "emoji 🙂👍🏽 end", "...!!!???", "a" * 101,
          "tab\there", "  leading and trailing  ", "ﬁ ligature", "Ⅻ roman", "über-cool", "e\u0301 combining",
          "\u00a0nbsp\u2003em space", "x" * 100, "don't stop", "$100.50 (approx.)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kiln", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kiln_tok_")
    tok = wordpiece.WordPieceTokenizer(VOCAB, lower=True)
    texts = list(TRICKY)
    for r in wordpiece.read_glue_tsv(os.path.join(ROOT, "data", "sst2", "dev.tsv")):
        texts.append(r[1])
    for r in wordpiece.read_glue_tsv(os.path.join(ROOT, "data", "mrpc", "test.tsv")):
        texts += [r[1], r[2]]
    path = os.path.join(tmp, "lines.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in texts))
    out = subprocess.run([args.kiln, "tokenize", "--vocab", VOCAB, "--lines", path], capture_output=True, text=True, check=True)
    got = [json.loads(l) for l in out.stdout.splitlines()]
    failures = 0
    if len(got) != len(texts):
        print("FAIL: %d lines in, %d out" % (len(texts), len(got)))
        return 1
    mismatches = [i for i, t in enumerate(texts) if got[i]["tokens"] != tok.encode(t)[0] or got[i]["ids"] != tok.encode(t)[1]]
    for i in mismatches[:5]:
        print("FAIL: %r\n  kiln   %s\n  python %s" % (texts[i], got[i]["tokens"], tok.encode(texts[i])[0]))
    failures += bool(mismatches)
    print("%s tokenizer: %d of %d texts identical to the Python reference" % ("PASS" if not mismatches else "FAIL",
                                                                           len(texts) - len(mismatches), len(texts)))

    # kiln eval on a small labelled file vs metrics computed here from kiln run --text.
    art = os.path.join(tmp, "sst2.kiln")
    subprocess.run([args.kiln, "compile", os.path.join(ROOT, "models", "sst2_tiny", "model.onnx"), "-o", art, "--batch", "4",
                    "--seq", "64", "--vocab", VOCAB, "--labels", "negative,positive"], check=True, stdout=subprocess.DEVNULL)
    rows = [(1, "a gorgeous, witty, seductive movie."), (0, "a dull, lifeless mess."), (1, "the best film of the year"),
            (0, "boring and far too long"), (1, "i hated every minute"), (0, "an unexpected delight")]
    tsv = os.path.join(tmp, "small.tsv")
    with open(tsv, "w") as f:
        f.write("label\tsentence\n" + "".join("%d\t%s\n" % r for r in rows))
    pred = []
    for _, text in rows:
        r = subprocess.run([args.kiln, "run", art, "--text", text, "--json"], capture_output=True, text=True, check=True)
        pred.append(["negative", "positive"].index(json.loads(r.stdout)["label"]))
    labels = [r[0] for r in rows]
    acc = sum(p == l for p, l in zip(pred, labels)) / len(rows)
    tp = sum(p == 1 and l == 1 for p, l in zip(pred, labels))
    fp = sum(p == 1 and l == 0 for p, l in zip(pred, labels))
    fn = sum(p == 0 and l == 1 for p, l in zip(pred, labels))
    tn = len(rows) - tp - fp - fn
    f1_pos = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    f1_neg = 2 * tn / (2 * tn + fn + fp) if tn else 0.0
    report = os.path.join(tmp, "eval.json")
    subprocess.run([args.kiln, "eval", art, "--data", tsv, "--json", report], check=True, stdout=subprocess.DEVNULL)
    with open(report) as f:
        e = json.load(f)
    checks = [("accuracy", e["accuracy"], acc), ("f1_binary", e["f1_binary"], f1_pos), ("f1_macro", e["f1_macro"], (f1_pos + f1_neg) / 2),
              ("confusion", e["confusion"], [[tn, fp], [fn, tp]]), ("examples", e["examples"], len(rows))]
    for name, got_v, want in checks:
        ok = got_v == want if not isinstance(want, float) else abs(got_v - want) < 1e-9
        failures += not ok
        print("%s eval %-10s kiln %s, computed %s" % ("PASS" if ok else "FAIL", name, got_v, want))
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
