#!/usr/bin/env python3
"""`make demo`: the main job on an embedded default model.

Exports a BERT-base-sized sequence classifier (12 layers, hidden 768, seeded random weights; no
pretrained weights can be downloaded here) to ONNX with PyTorch, then runs the Kiln workflow on it:
analyze -> compile -> inspect -> run, and prints Kiln's logits next to PyTorch's with the largest
difference and the compile time. Exits non-zero if the two disagree. Then compiles the trained SST-2
classifier (models/sst2_tiny) in fp32, bf16 and int8 with --verify and benchmarks the three side by side:
speed next to accuracy; runs it on text: a few sentences classified, then `kiln eval` on SST-2 dev; and
finally serves it with `kiln serve`, sends one Open Inference Protocol and one TEI /predict request with
curl, and stops the server with SIGTERM.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-3  # end-to-end fp32 bound for a 12-layer model (see docs/testing.md)


def step(title):
    print(f"\n=== {title} " + "=" * max(0, 74 - len(title)), flush=True)


def kiln(binary, *args):
    cmd = [binary, *args]
    print("$ kiln " + " ".join(args), flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        sys.exit(f"demo: 'kiln {args[0]}' failed with exit code {proc.returncode}")
    return time.monotonic() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    p.add_argument("--work", default=os.path.join(ROOT, "build", "demo"))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    args = p.parse_args()

    fixture = os.path.join(args.work, "bert_base_demo")
    meta_path = os.path.join(fixture, "meta.json")
    step("1. export a BERT-base classifier to ONNX (PyTorch, seeded weights)")
    cached = False
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        cached = meta.get("batch") == args.batch and meta.get("seq") == args.seq
    if cached:
        print(f"reusing {fixture}/model.onnx (delete {args.work} to re-export)")
    else:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fixtures", "make_fixtures.py"), args.work,
                        "--only", "bert_base_demo", "--batch", str(args.batch), "--seq", str(args.seq),
                        "--threads", "2"], check=True)
    with open(meta_path) as f:
        meta = json.load(f)
    model = os.path.join(fixture, "model.onnx")
    artifact = os.path.join(args.work, "bert_base.kiln")
    out_dir = os.path.join(args.work, "out")

    step("2. kiln analyze: operator support")
    kiln(args.kiln, "analyze", model)

    step("3. kiln compile: fixed shapes, fp32")
    compile_s = kiln(args.kiln, "compile", model, "-o", artifact, "--batch", str(args.batch), "--seq", str(args.seq))

    step("4. kiln inspect: what the artifact holds")
    kiln(args.kiln, "inspect", artifact)

    step("5. kiln run: the same inputs PyTorch saw")
    run_args = ["run", artifact, "--output-dir", out_dir]
    for name in meta["inputs"]:
        run_args += ["--input", f"{name}={os.path.join(fixture, 'inputs', name + '.npy')}"]
    kiln(args.kiln, *run_args)

    step("6. Kiln vs PyTorch")
    worst = 0.0
    agree = True
    for name in meta["outputs"]:
        ours = np.load(os.path.join(out_dir, name + ".npy"))
        ref = np.load(os.path.join(fixture, "expected", name + ".npy"))
        if ours.shape != ref.shape:
            sys.exit(f"demo: output '{name}' has shape {ours.shape}, PyTorch's has {ref.shape}")
        print(f"output '{name}' {list(ours.shape)}")
        print(f"  {'row':>3}  {'kiln':>26}  {'pytorch':>26}  {'max |diff|':>10}  argmax")
        for r in range(ours.shape[0]):
            a, b = ours[r].ravel(), ref[r].ravel()
            same = int(np.argmax(a)) == int(np.argmax(b))
            agree &= same
            fmt = lambda v: "[" + ", ".join(f"{x:+.5f}" for x in v[:3]) + (", ..." if v.size > 3 else "") + "]"
            print(f"  {r:>3}  {fmt(a):>26}  {fmt(b):>26}  {np.abs(a - b).max():10.2e}  "
                  f"{'same' if same else 'DIFFERENT'}")
        worst = max(worst, float(np.abs(ours.astype(np.float64) - ref).max()))
    print(f"\nmax |kiln - pytorch| = {worst:.2e} (bound {TOLERANCE:g}); argmax {'identical' if agree else 'DIFFERS'}; "
          f"compile time {compile_s:.2f} s (kiln compile wall time, including the 400+ MB artifact write)")
    if worst > TOLERANCE or not agree:
        sys.exit("demo: Kiln and PyTorch disagree")

    step("7. precision: the trained SST-2 classifier in fp32, bf16 and int8")
    sst2 = os.path.join(ROOT, "models", "sst2_tiny", "model.onnx")
    modes = [("fp32", []), ("bf16", ["--auto-cast", "matmult", "--verify", "--tolerance", "0.05"]),
             ("int8", ["--quantize", "int8", "--verify", "--tolerance", "0.2"])]
    arts = []
    for name, flags in modes:
        arts.append(os.path.join(args.work, f"sst2_{name}.kiln"))
        kiln(args.kiln, "compile", sst2, "-o", arts[-1], "--batch", "8", "--seq", "64", *flags)
    kiln(args.kiln, "bench", *arts, "--seconds", "3")

    step("8. text in, answers out: the SST-2 classifier with its tokenizer")
    vocab = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")
    text_art = os.path.join(args.work, "sst2_text.kiln")
    kiln(args.kiln, "compile", sst2, "-o", text_art, "--batch", "8", "--seq", "16,64", "--vocab", vocab,
         "--labels", "negative,positive")
    kiln(args.kiln, "tokenize", text_art, "--text", "A gorgeous, witty, seductive movie.")
    for sentence in ["A gorgeous, witty, seductive movie.", "The plot is a dull, lifeless mess.",
                     "Not the worst film of the year, but close."]:
        kiln(args.kiln, "run", text_art, "--text", sentence)
    kiln(args.kiln, "eval", text_art, "--data", os.path.join(ROOT, "data", "sst2", "dev.tsv"))

    step("9. kiln serve: the classifier behind HTTP (Open Inference Protocol and TEI routes)")
    serve(args.kiln, text_art, args.work)


def serve(binary, artifact, work):
    """Starts `kiln serve` on a free loopback port, sends one Open Inference Protocol request and one TEI
    /predict request with curl, prints the answers, and stops the server with SIGTERM."""
    log_path = os.path.join(work, "serve.log")
    args = ["serve", artifact, "--http-port", "0", "--grpc-port", "0", "--max-batch-delay-us", "2000"]
    print("$ kiln " + " ".join(args) + " &", flush=True)
    with open(log_path, "w+") as log:
        server = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=log)
        port = None
        deadline = time.monotonic() + 120
        while port is None and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.05)
            m = re.search(r"listening on http://[^:]+:(\d+)", open(log_path).read())
            port = int(m.group(1)) if m else None
        if port is None:
            server.kill()
            sys.exit("demo: kiln serve did not start:\n" + open(log_path).read())
        url = f"http://127.0.0.1:{port}"
        print(open(log_path).read().strip())
        try:
            v2 = json.dumps({"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES",
                                         "data": ["A gorgeous, witty, seductive movie.", "The plot is a dull, lifeless mess."]}]})
            for path, body in ((f"{url}/v2/models/sst2_text/infer", v2),
                               (f"{url}/predict", json.dumps({"inputs": "Not the worst film of the year, but close."}))):
                print(f"$ curl -s {path} -d '{body}'", flush=True)
                out = subprocess.run(["curl", "-s", "--fail-with-body", path, "-H", "Content-Type: application/json", "-d", body],
                                     capture_output=True, text=True)
                print(out.stdout.strip(), flush=True)
                if out.returncode != 0:
                    sys.exit(f"demo: the request to {path} failed (curl exit {out.returncode})")
        finally:
            print("$ kill -TERM <kiln serve>", flush=True)
            server.send_signal(signal.SIGTERM)
            code = server.wait(60)
        print(open(log_path).read().strip().splitlines()[-1])
        if code != 0:
            sys.exit(f"demo: kiln serve exited with {code} after SIGTERM:\n" + open(log_path).read())


if __name__ == "__main__":
    main()
