#!/usr/bin/env python3
"""Run ONNX's backend node tests through Kiln and classify every one.

    run_node_tests.py --kiln build/kiln --session-runner build/kiln_session_runner --tests DIR
                      [--doc docs/onnx-conformance.md] [--json FILE] [--check] [--only SUBSTR ...] [--jobs 2]

For every test directory (model.onnx + test_data_set_*/input_*.pb, output_*.pb; written by
generate_node_tests.py):
  1. `kiln analyze --json`: does Kiln claim every operator of the model? Unclaimed tests are only counted.
  2. Claimed ones: `kiln compile` (static shapes; dynamic dims bound from the test's data; integer graph
     inputs that feed shape-like operands, e.g. Reshape's shape or Slice's starts, bound as constants with
     `--constant-input NAME=FILE.npy`), then the artifact runs twice:
       - `kiln run ... --input NAME=FILE.npy ... --output-dir` (the CLI, on the serving engine), and
       - kiln_session_runner (kiln::Session directly),
     and every output is compared with the expected one: same dtype and shape; floats within
     rtol 1e-3 / atol 1e-5, integers and booleans exactly.
Outcomes: pass; wrong (exit 0 but a different answer); crash (a signal, a non-zero exit without exactly one
`kiln: error:` line, or a timeout); refused (non-zero exit with one clean `kiln: error:` line, recorded);
excluded (training-mode Dropout with a non-zero ratio draws random masks: no runtime can match it).

--check exits 1 when any claimed test is wrong or crashes, or fewer than --min-pass (300) pass.
At most --jobs (default 2) tests run at a time; every kiln process gets a timeout.
"""
import argparse
import concurrent.futures as cf
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict

import numpy as np

warnings.simplefilter("ignore")
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

RTOL, ATOL = 1e-3, 1e-5

# Operands whose value decides the output's shape (or the op's meaning) and that Kiln needs at compile
# time: op type -> input positions. A graph input in one of these positions is bound as a constant.
SHAPE_OPERANDS = {
    "Reshape": [1], "Expand": [1], "Tile": [1], "Slice": [1, 2, 3, 4], "Squeeze": [1], "Unsqueeze": [1],
    "ReduceSum": [1], "ReduceMean": [1], "ReduceMax": [1], "ReduceMin": [1], "ReduceProd": [1],
    "ReduceL1": [1], "ReduceL2": [1], "ReduceLogSum": [1], "ReduceLogSumExp": [1], "ReduceSumSquare": [1],
    "ConstantOfShape": [0], "Range": [0, 1, 2], "TopK": [1], "Pad": [1, 3], "Split": [1], "OneHot": [1],
    "Resize": [1, 2, 3], "Upsample": [1], "CumSum": [1], "Trilu": [1], "CenterCropPad": [1, 2],
}

ERROR_RE = re.compile(r"^kiln: error: ")


def load_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def op_label(model):
    ops = sorted({n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}" for n in model.graph.node})
    return ops


def dropout_excluded(model, inputs_by_name):
    """Training-mode Dropout whose ratio is not 0: random masks, no runtime can match the expected data."""
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type != "Dropout":
            continue
        training = False
        if len(n.input) >= 3 and n.input[2]:
            v = inputs_by_name.get(n.input[2], init.get(n.input[2]))
            training = bool(np.asarray(v).item()) if v is not None else True
        for a in n.attribute:   # opset < 12: is_test=0 meant training
            if a.name == "is_test" and a.i == 0:
                training = True
        if not training:
            continue
        ratio = 0.5
        if len(n.input) >= 2 and n.input[1]:
            v = inputs_by_name.get(n.input[1], init.get(n.input[1]))
            if v is not None:
                ratio = float(np.asarray(v).item())
        for a in n.attribute:
            if a.name == "ratio":
                ratio = a.f
        if ratio != 0:
            return True
    return False


def run_proc(cmd, timeout):
    """(status, detail, stdout): status is ok | refused | crash."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1")
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "crash", f"timeout after {timeout} s", ""
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace").strip()
    if p.returncode == 0:
        return "ok", "", out
    if p.returncode < 0:
        return "crash", f"signal {-p.returncode}: {err[-300:]}", out
    lines = [l for l in err.splitlines() if l.strip()]
    if p.returncode == 1 and len(lines) == 1 and ERROR_RE.match(lines[0]):
        return "refused", lines[0][len("kiln: error: "):], out
    return "crash", f"exit {p.returncode}: {err[-300:]}", out


def compare(expected, got):
    """None when equal within tolerance, else the reason."""
    if got.dtype != expected.dtype:
        # Kiln's .npy writer has no bool/int16/... for every type: compare the values when the kinds agree.
        if not (expected.dtype.kind == got.dtype.kind and expected.dtype.itemsize == got.dtype.itemsize):
            return f"dtype {got.dtype}, expected {expected.dtype}"
    if got.shape != expected.shape:
        return f"shape {list(got.shape)}, expected {list(expected.shape)}"
    if expected.dtype.kind in "fc":
        e = expected.astype(np.float64)
        g = got.astype(np.float64)
        ok = np.isclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not ok.all():
            i = np.unravel_index(np.argmin(ok), ok.shape) if ok.ndim else ()
            diff = np.abs(np.nan_to_num(g - e))
            return f"{int((~ok).sum())} of {ok.size} values differ (max abs diff {diff.max():.4g}; at {list(i)}: {g[i]!r} vs {e[i]!r})"
        return None
    if not np.array_equal(got, expected):
        ne = got != expected
        i = np.unravel_index(np.argmax(ne), ne.shape) if ne.ndim else ()
        return f"{int(ne.sum())} of {ne.size} values differ (at {list(i)}: {got[i]!r} vs {expected[i]!r})"
    return None


class Runner:
    def __init__(self, args):
        self.args = args
        help_text = subprocess.run([args.kiln, "compile", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT).stdout.decode()
        self.constant_inputs = "--constant-input" in help_text

    def analyze(self, model_path):
        st, detail, out = run_proc([self.args.kiln, "analyze", "--json", model_path], self.args.timeout)
        try:
            j = json.loads(out)
        except ValueError:
            return None, detail or "kiln analyze printed no JSON"
        return j, detail

    def run_test(self, test_dir):
        name = os.path.basename(test_dir)
        model = onnx.load(os.path.join(test_dir, "model.onnx"))
        r = {"name": name, "ops": op_label(model)}
        j, detail = self.analyze(os.path.join(test_dir, "model.onnx"))
        if j is None:
            r.update(claimed=False, outcome="unclaimed", detail=detail)
            return r
        unsupported = [o["op"] for o in j["ops"] if not o["supported"]]
        if unsupported:
            r.update(claimed=False, outcome="unclaimed", detail="unsupported: " + ", ".join(unsupported))
            return r
        r["claimed"] = True
        data_dir = os.path.join(test_dir, "test_data_set_0")
        graph_inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
        inputs = {}
        for k, vi in enumerate(graph_inputs):
            p = os.path.join(data_dir, f"input_{k}.pb")
            if not os.path.exists(p):
                break
            if not vi.type.HasField("tensor_type"):
                r.update(outcome="refused", detail="non-tensor input (not an ONNX test Kiln can take)")
                return r
            inputs[vi.name] = load_tensor(p)
        outputs = []
        for k, vo in enumerate(model.graph.output):
            p = os.path.join(data_dir, f"output_{k}.pb")
            if not vo.type.HasField("tensor_type"):
                r.update(outcome="refused", detail="non-tensor output")
                return r
            outputs.append((vo.name, load_tensor(p)))
        if dropout_excluded(model, inputs):
            r.update(outcome="excluded", detail="training-mode Dropout draws random masks: no runtime can reproduce the expected output")
            return r

        work = tempfile.mkdtemp(prefix=name + ".", dir=self.args.work_dir)
        try:
            self._compile_and_run(r, model, inputs, outputs, work, set())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        # The same test with every input but the first bound as a constant: what a model's weights look like,
        # so the fusion passes (FusedMatMul with packed weights, epilogues) and constant folding take over.
        if self.args.constant_operands and len(inputs) > 1 and r["outcome"] == "pass":
            v = {"name": name + "+const", "ops": r["ops"], "claimed": True, "variant": True}
            work = tempfile.mkdtemp(prefix=name + ".c.", dir=self.args.work_dir)
            try:
                self._compile_and_run(v, model, inputs, outputs, work, set(list(inputs)[1:]))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            r["variant"] = v
        return r

    def _compile_and_run(self, r, model, inputs, outputs, work, extra_constants):
        a = self.args
        # Shape-like operands fed by graph inputs: bound as constants.
        # Graph inputs a shape-like operand depends on (directly, or through the nodes computing it, as in
        # the window functions' expanded bodies): bound as constants.
        const_names = set(extra_constants)
        if self.constant_inputs:
            producer = {o: n for n in model.graph.node for o in n.output}
            todo = [n.input[pos] for n in model.graph.node for pos in SHAPE_OPERANDS.get(n.op_type, [])
                    if pos < len(n.input) and n.input[pos]]
            seen = set()
            while todo:
                v = todo.pop()
                if v in seen:
                    continue
                seen.add(v)
                if v in inputs:
                    const_names.add(v)
                elif v in producer and producer[v].op_type not in ("Shape", "Size"):  # those read only the shape
                    todo.extend(i for i in producer[v].input if i)
        files = {}
        for k, (nm, v) in enumerate(inputs.items()):
            p = os.path.join(work, f"input_{k}.npy")
            np.save(p, v)
            files[nm] = p
        cmd = [a.kiln, "compile", os.path.join(a.tests, r["name"].split("+")[0], "model.onnx"), "-o", os.path.join(work, "m.kiln")]
        # Dynamic dims: bound from the data (axis 0 --batch, axis 1 --seq, others --dim NAME=N).
        dims = {}
        for vi in model.graph.input:
            if vi.name not in inputs or not vi.type.HasField("tensor_type"):
                continue
            shape = inputs[vi.name].shape
            for ax, d in enumerate(vi.type.tensor_type.shape.dim):
                if d.HasField("dim_param") and ax < len(shape):
                    key = "--batch" if ax == 0 else "--seq" if ax == 1 else d.dim_param
                    dims[key] = shape[ax]
        for k, v in dims.items():
            cmd += [k, str(v)] if k.startswith("--") else ["--dim", f"{k}={v}"]
        for nm in sorted(const_names):
            cmd += ["--constant-input", f"{nm}={files[nm]}"]
        if const_names:
            r["constant_inputs"] = sorted(const_names)
        st, detail, _ = run_proc(cmd, a.timeout)
        if st != "ok":
            r.update(outcome=st, detail=("compile: " if st == "crash" else "") + detail, stage="compile")
            return r
        in_args = []
        for nm, p in files.items():
            if nm not in const_names:
                in_args += ["--input", f"{nm}={p}"]
        paths = {
            "cli": [a.kiln, "run", os.path.join(work, "m.kiln"), "--threads", "1"] + in_args,
            "session": [a.session_runner, os.path.join(work, "m.kiln"), "--threads", "1"] + in_args,
        }
        results = {}
        for path, cmd in paths.items():
            out_dir = os.path.join(work, "out_" + path)
            st, detail, _ = run_proc(cmd + ["--output-dir", out_dir], a.timeout)
            if st != "ok":
                results[path] = (st, detail)
                continue
            problems = []
            for nm, exp in outputs:
                f = os.path.join(out_dir, nm.replace("/", "_").replace("\\", "_") + ".npy")
                if path == "session":
                    f = os.path.join(out_dir, nm.replace("/", "_").replace("\\", "_").replace(":", "_") + ".npy")
                if not os.path.exists(f):
                    problems.append(f"output '{nm}' not written")
                    continue
                why = compare(exp, np.load(f))
                if why:
                    problems.append(f"output '{nm}': {why}")
            results[path] = ("wrong", "; ".join(problems)) if problems else ("pass", "")
        r["paths"] = {p: {"outcome": s, "detail": d} for p, (s, d) in results.items()}
        order = ["crash", "wrong", "refused", "pass"]
        worst = min((s for s, _ in results.values()), key=order.index)
        r["outcome"] = worst
        r["stage"] = "run"
        r["detail"] = "; ".join(f"{p}: {d}" for p, (s, d) in results.items() if s == worst and d)
        return r


OUTCOMES = ["pass", "wrong", "crash", "refused", "excluded"]


def tally(rs):
    c = defaultdict(int)
    for r in rs:
        c[r["outcome"]] += 1
    return c


def render_doc(results, seconds):
    base = [r for r in results if not r.get("variant")]
    claimed = [r for r in base if r.get("claimed")]
    variants = [r for r in results if r.get("variant")]
    count, vcount = tally(claimed), tally(variants)
    # Group by the operator under test: a test's single node, or for an `_expanded` (function body) test
    # the op of the test it expands.
    single_op = {r["name"]: r["ops"][0] for r in base if len(r["ops"]) == 1}

    def group(r):
        name = r["name"].split("+")[0]
        if name in single_op:
            return single_op[name]
        stem = name[:-len("_expanded")] if name.endswith("_expanded") else name
        return single_op.get(stem, "+".join(r["ops"]))

    by_op = defaultdict(list)
    for r in claimed + variants:
        by_op[group(r)].append(r)
    lines = [
        "# ONNX backend node tests",
        "",
        "Kiln runs ONNX's own backend node tests (the generators of the `onnx` Python package, Debian's",
        "python3-onnx 1.12) for every test whose operators `kiln analyze` reports as supported. This page is",
        "generated by `tests/conformance/run_node_tests.py --doc`; the CTest `conformance.onnx_node_tests` runs",
        "the same with `--check`:",
        "",
        "```",
        "python3 tests/conformance/generate_node_tests.py build/onnx_node_tests",
        "python3 tests/conformance/run_node_tests.py --kiln build/kiln --session-runner build/kiln_session_runner \\",
        "    --tests build/onnx_node_tests --constant-operands --doc docs/onnx-conformance.md --check",
        "```",
        "",
        "Each claimed test is compiled for its static shapes (graph inputs that feed shape-like operands such as",
        "Reshape's shape or Slice's starts, directly or through other nodes, are bound as constants with",
        "`kiln compile --constant-input`) and run twice, through `kiln run` (the serving engine) and through",
        "`kiln::Session` directly (`tests/conformance/session_runner.cc`). Every output must have the expected",
        f"dtype and shape, floats within rtol {RTOL:g} / atol {ATOL:g}, integers and booleans exactly. Outcomes:",
        "",
        "- **pass**: both paths give the expected outputs;",
        "- **wrong**: exit status 0 with a different answer (a bug; `--check` fails);",
        "- **crash**: a signal, a timeout, or a failure without one clean `kiln: error:` line (a bug; `--check` fails);",
        "- **refused**: Kiln declines with one `kiln: error:` line at compile or run time (the reason is listed below);",
        "- **excluded**: training-mode Dropout with a non-zero ratio draws random masks, so no runtime can",
        "  reproduce the expected data.",
        "",
        "With `--constant-operands`, every passing test with several inputs runs a second time (`NAME+const`) with",
        "all inputs but the first bound as constants, the way a model's weights are: that takes the fusion passes'",
        "paths (a `Gemm`/`MatMul` with a constant weight becomes a `FusedMatMul` with packed weights and its bias",
        "in the epilogue; `LayerNormalization` with constant scale and bias) and constant folding.",
        "",
        "## Totals",
        "",
        f"{len(base)} node tests; {len(claimed)} with every operator claimed by `kiln analyze`"
        + (f", and {len(variants)} of those again with constant operands" if variants else "") + ":",
        "",
        "| outcome | tests |" + (" with constant operands |" if variants else ""),
        "| --- | --- |" + (" --- |" if variants else ""),
    ]
    for k in OUTCOMES:
        lines.append(f"| {k} | {count[k]} |" + (f" {vcount[k]} |" if variants else ""))
    unclaimed_ops, other = defaultdict(int), 0
    for r in base:
        if not r.get("claimed"):
            d = r.get("detail", "")
            if d.startswith("unsupported: "):
                for op in d[len("unsupported: "):].split(", "):
                    unclaimed_ops[op] += 1
            else:
                other += 1
    lines += ["", f"The {len(base) - len(claimed)} other tests use an operator that `kiln analyze` reports as "
              f"unsupported, or (for {other} of them) an opset or operator domain Kiln does not read (opsets before 7, training ops). Unsupported operators, with the "
              "number of tests using them: " + ", ".join(f"{op} {n}" for op, n in sorted(unclaimed_ops.items(), key=lambda x: (-x[1], x[0]))) + ".",
              "", f"Run on {datetime.date.today().isoformat()} in {seconds:.0f} s "
              "(2 processes at a time).", "", "## Per operator", ""]
    for op in sorted(by_op):
        rs = sorted(by_op[op], key=lambda r: r["name"])
        c = tally([r for r in rs if not r.get("variant")])
        cv = tally([r for r in rs if r.get("variant")])
        summary = ", ".join(f"{c[k]} {k}" for k in OUTCOMES if c[k])
        if any(cv.values()):
            summary += "; with constant operands: " + ", ".join(f"{cv[k]} {k}" for k in OUTCOMES if cv[k])
        lines += [f"### {op}", "", summary, ""]
        for k in OUTCOMES:
            sel = [r for r in rs if r["outcome"] == k]
            if not sel:
                continue
            if k == "pass":
                lines.append("- pass: " + ", ".join(f"`{r['name']}`" for r in sel))
            else:
                for r in sel:
                    d = r.get("detail", "").replace("|", "\\|")
                    if len(d) > 300:
                        d = d[:300] + "…"
                    lines.append(f"- {k}: `{r['name']}`: {d}")
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--session-runner", required=True)
    ap.add_argument("--tests", required=True, help="directory written by generate_node_tests.py")
    ap.add_argument("--doc", help="write the Markdown report here")
    ap.add_argument("--json", help="write every result as JSON here")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--min-pass", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--constant-operands", action="store_true",
                    help="also run every passing multi-input test with all inputs but the first bound as constants "
                         "(reported as NAME+const: the fused, packed-weight paths)")
    ap.add_argument("--only", nargs="*", help="only tests whose name contains one of these")
    ap.add_argument("--work-dir", default=None, help="scratch space (default: the system temp dir)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every claimed test's outcome")
    args = ap.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    args.session_runner = os.path.abspath(args.session_runner)
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)

    tests = sorted(d for d in os.listdir(args.tests) if os.path.exists(os.path.join(args.tests, d, "model.onnx")))
    if args.only:
        tests = [t for t in tests if any(s in t for s in args.only)]
    if not tests:
        print(f"no tests in {args.tests}", file=sys.stderr)
        return 1
    runner = Runner(args)
    t0 = time.time()
    results = []
    with cf.ThreadPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as pool:
        futs = {pool.submit(runner.run_test, os.path.join(args.tests, t)): t for t in tests}
        for f in cf.as_completed(futs):
            try:
                r = f.result()
            except Exception as e:  # noqa: BLE001 - a runner bug on one test is reported, not fatal
                r = {"name": futs[f], "ops": [], "claimed": True, "outcome": "crash", "detail": f"runner: {type(e).__name__}: {e}"}
            results.append(r)
            if "variant" in r:
                results.append(r.pop("variant"))
            if args.verbose and r.get("claimed"):
                print(f"{r['outcome']:8s} {r['name']}  {r.get('detail', '')[:200]}", flush=True)
    seconds = time.time() - t0
    results.sort(key=lambda r: r["name"])
    claimed = [r for r in results if r.get("claimed") and not r.get("variant")]
    variants = [r for r in results if r.get("variant")]
    count, vcount = tally(claimed), tally(variants)
    for r in claimed + variants:
        if r["outcome"] in ("wrong", "crash"):
            print(f"{r['outcome'].upper():6s} {r['name']}: {r.get('detail', '')[:400]}")
    print(f"{len(results) - len(variants)} node tests, {len(claimed)} claimed: " +
          ", ".join(f"{count[k]} {k}" for k in OUTCOMES) + f" ({seconds:.0f} s)")
    if variants:
        print(f"with constant operands: {len(variants)} tests: " + ", ".join(f"{vcount[k]} {k}" for k in OUTCOMES))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.doc:
        with open(args.doc, "w") as f:
            f.write(render_doc(results, seconds))
    if args.check:
        bad = count["wrong"] + count["crash"] + vcount["wrong"] + vcount["crash"]
        if bad or count["pass"] < args.min_pass:
            print(f"conformance check FAILED: {count['wrong'] + vcount['wrong']} wrong, {count['crash'] + vcount['crash']} crash, "
                  f"{count['pass']} pass (at least {args.min_pass} required)")
            return 1
        print("conformance check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
