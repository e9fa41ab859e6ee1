#!/usr/bin/python3
"""Accuracy of every Kiln precision mode on SST-2 dev, for the trained model in models/sst2_tiny.

    /usr/bin/python3 tools/eval/sst2_precision.py --kiln build/kiln [--out-dir build/sst2_eval] [--check]

Tokenises the 872 dev sentences with the WordPiece reference (tools/text/wordpiece.py) at sequence
length 64, compiles the model once per mode at batch 8, runs all of dev through `kiln run` and
reports, per mode: SST-2 dev accuracy, the drop against Kiln fp32, agreement of the predicted label
with PyTorch fp32 (models/sst2_tiny/pytorch_dev_logits.npy) and the max abs logit difference from it.
int8 static is calibrated on the first 512 *train* sentences (never on dev).

With --check the script fails (exit 1) unless: fp32 logits are within 1e-4 of PyTorch; bf16 and fp16
modes agree with PyTorch on >= 99% of dev and lose <= 0.3 accuracy points; int8 modes lose <= 1.0.
Writes OUT_DIR/sst2_precision.json and .md.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "text"))
import wordpiece  # noqa: E402

SEQ, BATCH = 64, 8
MODES = [  # name, compile flags, accuracy-drop bound (points), checked for >= 99% agreement
    ("fp32", [], 0.0, True),
    ("bf16-matmult", ["--auto-cast", "matmult"], 0.3, True),
    ("bf16-all", ["--auto-cast", "all"], 0.3, True),
    ("fp16-matmult", ["--auto-cast", "matmult", "--auto-cast-type", "fp16"], 0.3, True),
    ("int8-dynamic", ["--quantize", "int8"], 1.0, False),
    ("int8-static", ["--quantize", "int8", "--calibrate", "{calib}"], 1.0, False),
    ("int8-dynamic-bf16-matmult", ["--quantize", "int8", "--auto-cast", "matmult"], 1.0, False),
]


def encode(tok, sentences):
    ids = np.zeros((len(sentences), SEQ), np.int64)
    mask = np.zeros((len(sentences), SEQ), np.int64)
    for i, s in enumerate(sentences):
        _, x, _, m = tok.encode(s, max_length=SEQ, pad=True)
        ids[i], mask[i] = x, m
    return ids, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "sst2_tiny"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "build", "sst2_eval"))
    ap.add_argument("--modes", nargs="+", help="subset of: " + ", ".join(m[0] for m in MODES))
    ap.add_argument("--check", action="store_true", help="fail unless the accuracy bounds hold")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda *p: os.path.join(args.out_dir, *p)

    tok = wordpiece.WordPieceTokenizer(os.path.join(args.data, "bert-base-uncased-vocab.txt"), lower=True)
    dev = wordpiece.read_glue_tsv(os.path.join(args.data, "sst2", "dev.tsv"))
    labels = np.array([r[0] for r in dev])
    ids, mask = encode(tok, [r[1] for r in dev])
    np.save(out("input_ids.npy"), ids)
    np.save(out("attention_mask.npy"), mask)
    np.save(out("token_type_ids.npy"), np.zeros_like(ids))
    train = wordpiece.read_glue_tsv(os.path.join(args.data, "sst2", "train.tsv"))[:512]
    cids, cmask = encode(tok, [r[1] for r in train])
    with open(out("calibration.jsonl"), "w") as f:
        for i in range(len(train)):
            f.write(json.dumps({"input_ids": cids[i].tolist(), "attention_mask": cmask[i].tolist(),
                                "token_type_ids": [0] * SEQ}) + "\n")
    torch_logits = np.load(os.path.join(args.model_dir, "pytorch_dev_logits.npy"))
    torch_pred = torch_logits.argmax(1)

    rows, problems = [], []
    fp32_acc = None
    for name, flags, bound, agree_check in MODES:
        if args.modes and name not in args.modes:
            continue
        art = out(name + ".kiln")
        flags = [f.replace("{calib}", out("calibration.jsonl")) for f in flags]
        subprocess.run([args.kiln, "compile", os.path.join(args.model_dir, "model.onnx"), "-o", art,
                        "--batch", str(BATCH), "--seq", str(SEQ)] + flags, check=True, stdout=subprocess.DEVNULL)
        res_dir = out(name + "_out")
        t0 = time.time()
        subprocess.run([args.kiln, "run", art, "--input", "input_ids=" + out("input_ids.npy"),
                        "--input", "attention_mask=" + out("attention_mask.npy"),
                        "--input", "token_type_ids=" + out("token_type_ids.npy"), "--output-dir", res_dir],
                       check=True, stdout=subprocess.DEVNULL)
        logits = np.load(os.path.join(res_dir, "logits.npy"))
        pred = logits.argmax(1)
        acc = float((pred == labels).mean())
        if name == "fp32":
            fp32_acc = acc
        row = {"mode": name, "flags": " ".join(flags), "accuracy": acc,
               "drop_points": None if fp32_acc is None else round((fp32_acc - acc) * 100, 2),
               "agreement_with_pytorch_fp32": float((pred == torch_pred).mean()),
               "max_abs_logit_diff_vs_pytorch": float(np.abs(logits - torch_logits).max()),
               "seconds": round(time.time() - t0, 2)}
        rows.append(row)
        print("%-13s accuracy %.4f  drop %s  agreement %.4f  max|dlogit| %.2e" % (
            name, acc, "-" if row["drop_points"] is None else "%.2f pt" % row["drop_points"],
            row["agreement_with_pytorch_fp32"], row["max_abs_logit_diff_vs_pytorch"]), flush=True)
        if name == "fp32" and row["max_abs_logit_diff_vs_pytorch"] > 1e-4:
            problems.append("fp32 logits differ from PyTorch by %.3g (> 1e-4)" % row["max_abs_logit_diff_vs_pytorch"])
        if agree_check and row["agreement_with_pytorch_fp32"] < 0.99:
            problems.append("%s agrees with PyTorch on only %.2f%% of dev (< 99%%)" % (name, 100 * row["agreement_with_pytorch_fp32"]))
        if row["drop_points"] is not None and row["drop_points"] > bound:
            problems.append("%s loses %.2f accuracy points (> %.1f)" % (name, row["drop_points"], bound))

    with open(out("sst2_precision.json"), "w") as f:
        json.dump({"dev_sentences": len(dev), "seq": SEQ, "batch": BATCH,
                   "pytorch_fp32_accuracy": float((torch_pred == labels).mean()), "modes": rows}, f, indent=2)
    with open(out("sst2_precision.md"), "w") as f:
        f.write("| mode | SST-2 dev accuracy | drop vs fp32 (points) | label agreement with PyTorch fp32 | max abs logit diff |\n")
        f.write("|---|---|---|---|---|\n")
        for r in rows:
            f.write("| %s | %.2f%% | %s | %.2f%% | %.2g |\n" % (r["mode"], 100 * r["accuracy"],
                    "-" if r["drop_points"] is None else "%.2f" % r["drop_points"], 100 * r["agreement_with_pytorch_fp32"],
                    r["max_abs_logit_diff_vs_pytorch"]))
    print("PyTorch fp32 accuracy %.4f; wrote %s" % (float((torch_pred == labels).mean()), out("sst2_precision.md")))
    if args.check and problems:
        for p in problems:
            print("FAIL: " + p)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
