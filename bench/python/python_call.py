#!/usr/bin/python3
"""What calling a model from Python costs: kiln.Model.__call__ against `kiln bench` on the same artifact.

    /usr/bin/python3 bench/python/python_call.py ARTIFACT [--kiln build/kiln] [--seconds 10] [--rounds 3]

Interleaved rounds, one at a time under the benchmark lock: `kiln bench --engine` (the Engine, which a Python
call goes through), plain `kiln bench` (a bare Session), and a Python loop calling the model back to back on
the same inputs (kiln.bench's sample inputs: the artifact's compiled shapes) for the same time. Prints the
median over rounds of each p50 and p99 and the ratios. Not a test: the numbers depend on the machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kiln_bench(kiln, artifact, seconds, engine):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.json")
        cmd = [kiln, "bench", artifact, "--seconds", str(seconds), "--json", path] + (["--engine"] if engine else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            r = json.load(f)
    return r["latency_ms"]["p50"], r["latency_ms"]["p99"]


def python_loop(build_python, artifact, seconds):
    code = r"""
import sys, time, json, numpy as np
import kiln
m = kiln.load(sys.argv[1])
rng = np.random.default_rng(0)
feeds = {}
for t in m.info.inputs:
    shape = t.compiled_shape
    if t.role == "token_ids":
        feeds[t.name] = rng.integers(1000, 20000, size=shape, dtype=np.int64)
    elif t.role == "attention_mask":
        feeds[t.name] = np.ones(shape, np.int64)
    else:
        feeds[t.name] = np.zeros(shape, np.int64)
for _ in range(3):
    m(**feeds)
times, end = [], time.perf_counter() + float(sys.argv[2])
while time.perf_counter() < end:
    t = time.perf_counter(); m(**feeds); times.append((time.perf_counter() - t) * 1e3)
print(json.dumps([float(np.percentile(times, 50)), float(np.percentile(times, 99))]))
"""
    env = dict(os.environ, PYTHONPATH=build_python)
    out = subprocess.run([sys.executable, "-c", code, artifact, str(seconds)], check=True, capture_output=True,
                         text=True, env=env).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("artifact")
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--build-python", default=os.path.join(ROOT, "build", "python"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs = {"kiln bench --engine": [], "kiln bench (Session)": [], "Python Model()": []}
    for r in range(args.rounds):
        runs["kiln bench --engine"].append(kiln_bench(args.kiln, args.artifact, args.seconds, True))
        runs["Python Model()"].append(python_loop(args.build_python, args.artifact, args.seconds))
        runs["kiln bench (Session)"].append(kiln_bench(args.kiln, args.artifact, args.seconds, False))
        print("round %d: %s" % (r + 1, {k: tuple(round(x, 2) for x in v[-1]) for k, v in runs.items()}), flush=True)
    med = {k: (float(np.median([p[0] for p in v])), float(np.median([p[1] for p in v]))) for k, v in runs.items()}
    print("\n| path | p50 ms (median of %d rounds) | p50 per round | p99 ms (median) |" % args.rounds)
    print("| --- | --- | --- | --- |")
    for k, v in runs.items():
        print("| %s | %.2f | %s | %.2f |" % (k, med[k][0], ", ".join("%.2f" % p[0] for p in v), med[k][1]))
    py = med["Python Model()"][0]
    print("\nPython / kiln bench --engine: %.3fx p50;  Python / kiln bench (Session): %.3fx p50" % (
        py / med["kiln bench --engine"][0], py / med["kiln bench (Session)"][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
