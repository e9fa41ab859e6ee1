#!/usr/bin/python3
"""Sequence buckets and any request shape, end to end against PyTorch's outputs.

    /usr/bin/python3 tests/e2e/test_seq_buckets.py --kiln build/kiln --fixtures build/fixtures

Compiles two fixtures (batch 3) with `--seq 16,37` and runs them with `kiln run` (the serving engine)
on requests cut from the fixture inputs:
  * the full inputs (3 rows, seq 37): the 37 bucket;
  * one row cut to its real length (1 or 11 tokens): the 16 bucket, padded with the pad id and mask 0;
  * one row of 19 tokens: the 37 bucket;
  * 5 rows (more than the compiled batch: two calls) and 1 row (fewer: padded);
  * a token classifier, whose [rows, seq, labels] output comes back cut to the request's length;
  * 38 tokens: rejected, or cut to 37 with --truncate.
Every answer must match PyTorch's outputs for those rows and tokens within 1e-4 (the fixtures' bound).
Prints one line per case; exits non-zero when any fails.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kiln_buckets_")
    failures = 0

    def run(art, inputs, extra=()):
        d = tempfile.mkdtemp(dir=tmp)
        cmd = [args.kiln, "run", art, "--output-dir", d] + list(extra)
        for name, arr in inputs.items():
            path = os.path.join(d, name + ".in.npy")
            np.save(path, arr)
            cmd += ["--input", "%s=%s" % (name, path)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return None, p.stderr.strip()
        return np.load(os.path.join(d, "logits.npy")), ""

    def check(name, got, want, err=""):
        nonlocal failures
        ok = got is not None and got.shape == want.shape and float(np.abs(got - want).max()) <= TOL
        failures += not ok
        detail = err if got is None else "shape %s, max |diff| %.2e" % (got.shape, float(np.abs(got - want).max()) if got.shape == want.shape else -1)
        print("%s %-44s %s" % ("PASS" if ok else "FAIL", name, detail))

    for fixture in ("bert_seqcls", "roberta_tokcls"):
        fdir = os.path.join(args.fixtures, fixture)
        art = os.path.join(tmp, fixture + ".kiln")
        subprocess.run([args.kiln, "compile", os.path.join(fdir, "model.onnx"), "-o", art, "--batch", "3", "--seq", "16,37"],
                       check=True, stdout=subprocess.DEVNULL)
        names = [n[:-4] for n in sorted(os.listdir(os.path.join(fdir, "inputs")))]
        x = {n: np.load(os.path.join(fdir, "inputs", n + ".npy")) for n in names}
        want = np.load(os.path.join(fdir, "expected", "logits.npy"))
        lengths = x["attention_mask"].sum(1)
        token_level = want.ndim == 3

        def rows(idx, seq):
            return {n: np.ascontiguousarray(v[idx, :seq]) for n, v in x.items()}

        def expected(idx, seq):
            return want[idx, :seq] if token_level else want[idx]

        got, err = run(art, x)
        check(fixture + ": full batch, seq 37", got, want, err)
        short = int(np.argmin(lengths))
        got, err = run(art, rows([short], int(lengths[short])))
        check("%s: row %d cut to %d tokens (bucket 16)" % (fixture, short, lengths[short]), got, expected([short], int(lengths[short])), err)
        mid = [i for i in range(3) if 16 < lengths[i] < 37]
        if mid:
            r = mid[0]
            got, err = run(art, rows([r], int(lengths[r])))
            check("%s: row %d cut to %d tokens (bucket 37)" % (fixture, r, lengths[r]), got, expected([r], int(lengths[r])), err)
        five = [0, 1, 2, 0, 1]
        got, err = run(art, rows(five, 37))
        check(fixture + ": 5 rows (compiled batch 3)", got, expected(five, 37), err)
        if not token_level:
            long = {n: np.concatenate([v, v[:, -1:]], axis=1) for n, v in x.items()}
            got, err = run(art, long)
            ok = got is None and "longer than the longest compiled length (37)" in err
            failures += not ok
            print("%s %-44s %s" % ("PASS" if ok else "FAIL", fixture + ": 38 tokens rejected", err))
            got, err = run(art, long, ["--truncate"])
            check(fixture + ": 38 tokens with --truncate", got, want, err)
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
