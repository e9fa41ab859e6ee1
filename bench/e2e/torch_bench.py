#!/usr/bin/python3
"""PyTorch side of bench/e2e/compare: time a fixture model in eager PyTorch, print kiln-bench-style JSON.

    torch_bench.py FIXTURE_DIR [--threads N] [--seconds T] [--warmup N] [--json OUT.json]
                   [--output-dir DIR] [--check-expected TOL] [--autocast bf16]

FIXTURE_DIR is a directory written by tools/fixtures/make_fixtures.py (model.onnx, inputs/, expected/,
meta.json). The model is not read from the ONNX file: it is rebuilt from make_fixtures' own module
definitions and config, and initialised with the seed recorded in meta.json, which gives the very weights
the ONNX export holds (checked: PyTorch's outputs on the fixture inputs must match expected/ within
--check-expected, default 1e-4).

Protocol (the same as `kiln bench` and ort_bench.js): torch.set_num_threads(N), eval mode,
torch.inference_mode(); N untimed warm-up runs (default 3; the first one's outputs go to
DIR/<output name>.npy), then back-to-back runs until T seconds have passed and at least 3 ran, each run's
wall time one latency sample; throughput = batch * iterations / timed seconds; percentiles nearest-rank.

The environment (OMP_WAIT_POLICY, OPENBLAS_CORETYPE, ...) is whatever the caller sets: compare runs this
script twice per round, with the default environment and with the tuned one (see docs/benchmarks.md).
Errors: one line `torch_bench: error: ...` on stderr, exit status 1.
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fail(msg):
    print("torch_bench: error: " + msg, file=sys.stderr)
    sys.exit(1)


def percentile(sorted_vals, p):
    """Nearest rank, as `kiln bench` and ort_bench.js: the ceil(p/100 * n)-th smallest sample."""
    if not sorted_vals:
        return float("nan")
    idx = math.ceil(p / 100.0 * len(sorted_vals))
    return sorted_vals[min(len(sorted_vals) - 1, max(idx - 1, 0))]


def blas_info():
    """Which BLAS and OpenMP this PyTorch process loaded: OpenBLAS's own config line and core, if any."""
    import ctypes

    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if base.startswith(("libblas", "libopenblas", "libblis", "libmkl", "libgomp", "libiomp", "libomp")):
                    libs.add(path)
    except OSError:
        pass
    info = {"libraries": sorted(libs), "blas": "unknown"}
    openblas = [p for p in libs if os.path.basename(p).startswith("libopenblas")]
    if openblas:
        try:
            lib = ctypes.CDLL(openblas[0])
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["blas"] = "OpenBLAS"
            info["openblas_config"] = lib.openblas_get_config().decode()
            info["openblas_core"] = lib.openblas_get_corename().decode()
            info["openblas_variant"] = os.path.basename(os.path.dirname(openblas[0]))  # openblas-pthread / -openmp
        except (OSError, AttributeError):
            info["blas"] = "OpenBLAS (version not readable)"
    elif any("/blas/libblas.so" in p for p in libs):
        info["blas"] = "reference BLAS (Debian libblas3)"
    return info


def build_model(fixture_dir):
    """Rebuild the fixture's eval-mode PyTorch model from make_fixtures.py and meta.json."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
    import make_fixtures as mf  # noqa: E402  (imports torch, numpy, onnx)
    import torch

    meta_path = os.path.join(fixture_dir, "meta.json")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except OSError as e:
        fail("cannot read %s: %s" % (meta_path, e.strerror))
    spec = mf.FIXTURES.get(meta.get("name"))
    if spec is None:
        fail("%s names fixture %r, which make_fixtures.py does not define" % (meta_path, meta.get("name")))
    config = mf.Config(**spec["config"])
    model = spec["model_class"](config)
    mf.init_weights(model, meta["seed"])
    model.eval()
    # make_fixtures spells the erf GELU out (x * 0.5 * (1 + erf(x / sqrt 2))) so that the ONNX export holds
    # the pattern exporters write; timed that way, PyTorch runs five elementwise kernels per GELU (a fifth of
    # its BERT-base time). A PyTorch user calls torch.nn.functional.gelu, the same function (exact erf form),
    # so that is what is timed; the --check-expected comparison shows the outputs did not change.
    for m in model.modules():
        for attr in ("intermediate_act_fn", "activation"):
            if getattr(m, attr, None) is mf.gelu_erf:
                setattr(m, attr, torch.nn.functional.gelu)
    return meta, model


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fixture_dir", nargs="?")
    p.add_argument("--version", action="store_true", help="print torch's version and BLAS as JSON and exit")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3, at least 1)")
    p.add_argument("--json", metavar="OUT.json")
    p.add_argument("--output-dir", metavar="DIR")
    p.add_argument("--autocast", choices=["none", "bf16"], default="none",
                   help="bf16: run under torch.cpu.amp.autocast(dtype=torch.bfloat16), PyTorch's mixed precision")
    p.add_argument("--check-expected", type=float, default=1e-4, metavar="TOL",
                   help="fail if the outputs differ from FIXTURE_DIR/expected by more (default 1e-4; 0 = skip)")
    args = p.parse_args()

    try:
        import numpy as np
        import torch
    except ImportError as e:
        fail("cannot import %s (install Debian's python3-torch and python3-numpy)" % e.name)
    if args.version:
        torch.zeros(8, 8) @ torch.zeros(8, 8)  # make sure the BLAS is loaded
        print(json.dumps({"torch": torch.__version__, "python": sys.version.split()[0], **blas_info()}))
        return
    if args.fixture_dir is None:
        p.error("FIXTURE_DIR is required")

    torch.set_num_threads(args.threads)
    meta, model = build_model(args.fixture_dir)
    inputs = []
    for name in meta["inputs"]:
        path = os.path.join(args.fixture_dir, "inputs", name + ".npy")
        try:
            inputs.append(torch.from_numpy(np.load(path)))
        except OSError as e:
            fail("cannot read input %s: %s" % (path, e))
    batch, seq = int(inputs[0].shape[0]), int(inputs[0].shape[1])

    def run():
        with torch.inference_mode():
            if args.autocast == "bf16":
                with torch.cpu.amp.autocast(dtype=torch.bfloat16):
                    return model(*inputs)
            return model(*inputs)

    if args.autocast != "none":
        args.check_expected = 0  # reduced precision: the agreement check in compare reports the difference

    # 1. the first warm-up run: outputs for the agreement check, and the check that this is the exported model
    out = run()
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs = [o.detach().float().numpy() for o in outs]
    if args.check_expected > 0:
        for name, o in zip(meta["outputs"], outs):
            ref = np.load(os.path.join(args.fixture_dir, "expected", name + ".npy"))
            if ref.shape != o.shape or float(np.max(np.abs(ref - o))) > args.check_expected:
                diff = float(np.max(np.abs(ref - o))) if ref.shape == o.shape else float("inf")
                fail("rebuilt model's '%s' differs from %s/expected by %.3g (> %g): not the exported model"
                     % (name, args.fixture_dir, diff, args.check_expected))
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        for name, o in zip(meta["outputs"], outs):
            np.save(os.path.join(args.output_dir, name + ".npy"), o)

    # 2. the rest of the warm-up
    for _ in range(max(1, args.warmup) - 1):
        run()

    # 3. timed runs
    lat = []
    start = end = time.perf_counter()
    while len(lat) < 3 or end - start < args.seconds:
        a = time.perf_counter()
        run()
        end = time.perf_counter()
        lat.append((end - a) * 1e3)
    elapsed = end - start
    s = sorted(lat)
    result = {
        "system": "pytorch",
        "autocast": args.autocast,
        "version": torch.__version__,
        "fixture": os.path.abspath(args.fixture_dir),
        "batch": batch,
        "seq": seq,
        "threads": args.threads,
        "torch_num_threads": torch.get_num_threads(),
        "iterations": len(lat),
        "seconds": elapsed,
        "throughput": batch * len(lat) / elapsed,
        "latency_ms": {
            "p50": percentile(s, 50),
            "p90": percentile(s, 90),
            "p99": percentile(s, 99),
            "max": s[-1],
            "mean": sum(lat) / len(lat),
        },
        "warmup": max(1, args.warmup),
        "blas": blas_info(),
        "env": {k: os.environ[k] for k in sorted(os.environ)
                if k.startswith(("OMP_", "OPENBLAS_", "MKL_", "GOMP_", "KMP_"))},
    }
    text = json.dumps(result, indent=2) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
