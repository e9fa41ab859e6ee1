#!/usr/bin/python3
"""End-to-end numerical test of the kiln binary against the PyTorch fixtures.

    /usr/bin/python3 tests/e2e/run_e2e.py --kiln build/kiln --fixtures build/fixtures [--only NAME ...]

For every fixture directory written by tools/fixtures/make_fixtures.py
(bert_base_demo is skipped unless named with --only):

    kiln compile FIX/model.onnx -o WORK/model.kiln --batch B --seq S
    kiln run WORK/model.kiln --input NAME=FIX/inputs/NAME.npy ... --output-dir WORK/out/

and every WORK/out/<output>.npy is compared with FIX/expected/<output>.npy:
same shape, dtype float32, all finite, max |err| <= --atol (1e-4), and for
logits an identical argmax along the last axis.  A fixture that also ships
inputs_int32/ (bert_seqcls) is run a second time with those int32 inputs
(reusing the compiled artifact).

Prints one line per case and finally `N passed, M failed`; exits non-zero if
anything failed.  Needs only numpy and the standard library.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SKIP_BY_DEFAULT = {"bert_base_demo"}


def run_cmd(argv, timeout, env=None):
    """Run argv; returns (ok, completed_or_None, message, seconds)."""
    t0 = time.time()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return False, None, "timed out after %ss: %s" % (timeout, " ".join(argv)), time.time() - t0
    except OSError as e:
        return False, None, "cannot execute %s: %s" % (argv[0], e), time.time() - t0
    dt = time.time() - t0
    if proc.returncode != 0:
        how = ("killed by signal %d" % -proc.returncode) if proc.returncode < 0 else ("exit code %d" % proc.returncode)
        msg = "command failed (%s): %s\n--- stderr ---\n%s" % (
            how, " ".join(argv), proc.stderr.decode("utf-8", "replace").rstrip() or "(empty)")
        out = proc.stdout.decode("utf-8", "replace").rstrip()
        if out:
            msg += "\n--- stdout (last 20 lines) ---\n" + "\n".join(out.splitlines()[-20:])
        return False, proc, msg, dt
    return True, proc, "", dt


def compare(name, got_path, exp_path, check_argmax, atol):
    """Returns (ok, max_abs_err or None, message)."""
    if not os.path.isfile(got_path):
        return False, None, "%s: kiln wrote no output file %s" % (name, got_path)
    try:
        got = np.load(got_path, allow_pickle=False)
    except Exception as e:  # corrupt .npy written by kiln
        return False, None, "%s: cannot load %s: %s" % (name, got_path, e)
    exp = np.load(exp_path, allow_pickle=False)
    if got.shape != exp.shape:
        return False, None, "%s: shape %s, expected %s" % (name, got.shape, exp.shape)
    if got.dtype != np.float32:
        return False, None, "%s: dtype %s, expected float32" % (name, got.dtype)
    if not np.all(np.isfinite(got)):
        return False, None, "%s: output contains NaN/Inf" % name
    err = float(np.max(np.abs(got.astype(np.float64) - exp.astype(np.float64)))) if got.size else 0.0
    problems = []
    if err > atol:
        idx = np.unravel_index(int(np.argmax(np.abs(got - exp))), got.shape)
        problems.append("max abs err %.3g > %.3g at %s (got %r, expected %r)" % (
            err, atol, tuple(int(i) for i in idx), float(got[idx]), float(exp[idx])))
    if check_argmax:
        ga, ea = got.argmax(axis=-1), exp.argmax(axis=-1)
        bad = np.argwhere(ga != ea)
        if bad.size:
            problems.append("argmax differs at %d position(s), first %s: got %d expected %d" % (
                len(bad), tuple(int(i) for i in bad[0]), int(ga[tuple(bad[0])]), int(ea[tuple(bad[0])])))
    if problems:
        return False, err, "%s: %s" % (name, "; ".join(problems))
    return True, err, ""


def run_fixture(kiln, fdir, meta, work, args, input_dir="inputs", label=None, artifact=None):
    """Compile (unless artifact given) and run one fixture. Returns (ok, artifact, line, details)."""
    name = label or meta["name"]
    os.makedirs(work, exist_ok=True)
    t_compile = 0.0
    if artifact is None:
        artifact = os.path.join(work, "model.kiln")
        argv = [kiln, "compile", os.path.join(fdir, "model.onnx"), "-o", artifact,
                "--batch", str(meta["batch"]), "--seq", str(meta["seq"])]
        ok, _, msg, t_compile = run_cmd(argv, args.timeout)
        if not ok:
            return False, None, "FAIL %-26s compile failed" % name, msg
        if not os.path.isfile(artifact):
            return False, None, "FAIL %-26s compile failed" % name, "kiln compile exited 0 but wrote no %s" % artifact

    out_dir = os.path.join(work, "out_" + input_dir) + os.sep
    shutil.rmtree(out_dir, ignore_errors=True)
    argv = [kiln, "run", artifact]
    run_env = None
    if args.run_isa:  # only the run: the artifact was compiled (and its weights packed) for this CPU
        run_env = dict(os.environ, KILN_FORCE_ISA=args.run_isa)
    for inp in meta["inputs"]:
        path = os.path.join(fdir, input_dir, inp + ".npy")
        if not os.path.isfile(path):  # e.g. inputs_int32/ only holds input_ids
            path = os.path.join(fdir, "inputs", inp + ".npy")
        argv += ["--input", "%s=%s" % (inp, path)]
    argv += ["--output-dir", out_dir]
    ok, _, msg, t_run = run_cmd(argv, args.timeout, env=run_env)
    if not ok:
        return False, artifact, "FAIL %-26s run failed" % name, msg

    check_argmax = meta.get("output_kind", "seq_logits") != "embedding"
    errs, problems = [], []
    for out in meta["outputs"]:
        ok, err, msg = compare(out, os.path.join(out_dir, out + ".npy"),
                               os.path.join(fdir, "expected", out + ".npy"), check_argmax, args.atol)
        if err is not None:
            errs.append(err)
        if not ok:
            problems.append(msg)
    err_txt = ("max_abs_err=%.3g" % max(errs)) if errs else "max_abs_err=n/a"
    timing = "(compile %.2fs, run %.2fs)" % (t_compile, t_run)
    if problems:
        return False, artifact, "FAIL %-26s %s %s" % (name, err_txt, timing), "\n".join(problems)
    return True, artifact, "PASS %-26s %s %s" % (name, err_txt, timing), ""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", required=True, help="path to the kiln binary")
    p.add_argument("--fixtures", required=True, help="directory written by make_fixtures.py")
    p.add_argument("--only", nargs="+", action="extend", metavar="NAME", help="run only these fixtures")
    p.add_argument("--work-dir", help="keep artifacts/outputs here (default: a temp dir, deleted afterwards)")
    p.add_argument("--atol", type=float, default=1e-4, help="max abs error allowed (default 1e-4)")
    p.add_argument("--timeout", type=float, default=300, help="seconds per kiln invocation (default 300)")
    p.add_argument("--run-isa", help="set KILN_FORCE_ISA to this for 'kiln run' only (e.g. ref: the reference "
                   "kernels on an artifact compiled, and its weights packed, for this CPU)")
    args = p.parse_args()

    kiln = os.path.abspath(args.kiln)
    if not (os.path.isfile(kiln) and os.access(kiln, os.X_OK)):
        print("run_e2e: error: kiln binary not found or not executable: %s" % kiln)
        print("0 passed, 1 failed")
        return 1
    if not os.path.isdir(args.fixtures):
        print("run_e2e: error: fixtures directory not found: %s (run tools/fixtures/make_fixtures.py)" % args.fixtures)
        print("0 passed, 1 failed")
        return 1

    available = sorted(d for d in os.listdir(args.fixtures)
                       if os.path.isfile(os.path.join(args.fixtures, d, "meta.json")))
    if args.only:
        missing = [n for n in args.only if n not in available]
        if missing:
            print("run_e2e: error: fixture(s) not found in %s: %s" % (args.fixtures, ", ".join(missing)))
            print("0 passed, %d failed" % len(missing))
            return 1
        names = [n for n in available if n in args.only]
    else:
        names = [n for n in available if n not in SKIP_BY_DEFAULT]
    if not names:
        print("run_e2e: error: no fixtures in %s" % args.fixtures)
        print("0 passed, 1 failed")
        return 1

    work_root = args.work_dir or tempfile.mkdtemp(prefix="kiln_e2e_")
    passed = failed = 0
    for name in names:
        fdir = os.path.join(args.fixtures, name)
        with open(os.path.join(fdir, "meta.json")) as f:
            meta = json.load(f)
        work = os.path.join(work_root, name)
        ok, artifact, line, details = run_fixture(kiln, fdir, meta, work, args)
        print(line)
        if details:
            print("    " + details.replace("\n", "\n    "))
        passed, failed = passed + ok, failed + (not ok)
        sys.stdout.flush()

        # Same model and options must give a byte-identical artifact (compile again, compare bytes).
        if artifact is not None:
            label = name + "[deterministic]"
            again = os.path.join(work, "again.kiln")
            ir_dump = os.path.join(work, "again.ir")
            argv = [kiln, "compile", os.path.join(fdir, "model.onnx"), "-o", again,
                    "--batch", str(meta["batch"]), "--seq", str(meta["seq"]), "--dump-ir", ir_dump]
            ok, _, msg, _ = run_cmd(argv, args.timeout)
            if ok:
                with open(artifact, "rb") as f1, open(again, "rb") as f2:
                    ok = f1.read() == f2.read()
                msg = "" if ok else "recompiling gave a different artifact (%s vs %s)" % (artifact, again)
                # --dump-ir (asked for on the second compile only) must not change the artifact, and
                # writes the optimised graph: every model here has fused attention or GEMMs.
                with open(ir_dump) as f:
                    text = f.read()
                if ok and not (text.startswith("graph ") and "FusedMatMul" in text):
                    ok, msg = False, "--dump-ir wrote no optimised graph to %s" % ir_dump
            print("%s %-26s %s" % ("PASS" if ok else "FAIL", label, "byte-identical" if ok else ""))
            if msg:
                print("    " + msg.replace("\n", "\n    "))
            passed, failed = passed + ok, failed + (not ok)

        # Same artifact, int32 token inputs (kiln must accept int32 as well as int64).
        if meta.get("inputs_int32") and os.path.isdir(os.path.join(fdir, "inputs_int32")):
            label = name + "[int32]"
            if artifact is None:
                ok, line, details = False, "FAIL %-26s not run: compile failed" % label, ""
            else:
                ok, _, line, details = run_fixture(kiln, fdir, meta, work, args, input_dir="inputs_int32",
                                                   label=label, artifact=artifact)
            print(line)
            if details:
                print("    " + details.replace("\n", "\n    "))
            passed, failed = passed + ok, failed + (not ok)
            sys.stdout.flush()

    if args.work_dir is None:
        shutil.rmtree(work_root, ignore_errors=True)
    else:
        print("artifacts and outputs kept in %s" % work_root)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
