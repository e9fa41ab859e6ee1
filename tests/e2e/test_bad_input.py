#!/usr/bin/python3
"""CLI robustness test: kiln must reject bad input cleanly.

    /usr/bin/python3 tests/e2e/test_bad_input.py --kiln build/kiln --fixtures build/fixtures

Every case runs the kiln binary on some bad input and requires:
  * exit code > 0 (non-zero, and not killed by a signal, i.e. no crash/abort),
  * stderr is exactly ONE non-empty line, starting with "kiln: error: ",
  * stderr contains (case-insensitive) at least one of the substrings listed
    for the case in EXPECT below,
  * it finishes within --timeout seconds (a hang is a failure).
A few cases check more (all unsupported ops listed with counts; `kiln
analyze` output and exit status).  The good base model is the bert_seqcls
fixture; bad files are created in a temp dir.  Needs numpy, onnx, stdlib.

Prints one line per case and finally `N passed, M failed`; exits non-zero if
anything failed.
"""

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

# ---------------------------------------------------------------------------
# Expected error substrings, one table so they can be matched to kiln's real
# messages.  Case-insensitive; the case passes if ANY listed substring occurs
# in stderr.  Keep them modest.
# ---------------------------------------------------------------------------
EXPECT = {
    # model file
    "model_empty":             ["empty", "parse", "invalid onnx"],
    "model_truncated":         ["parse", "truncat", "invalid onnx"],
    "model_random_bytes":      ["parsing failed", "not a valid onnx"],
    "model_nonexistent":       ["no such file", "not found", "cannot open", "does not exist"],
    # unsupported ops (additionally every op type + node name must appear, see UNSUPPORTED_*)
    "unsupported_ops_compile": ["unsupported"],
    # dynamic dims without a value / bad values
    "compile_without_seq":     ["dynamic ('sequence') and no value was given: set seq"],
    "compile_without_batch":   ["dynamic ('batch') and no value was given: set batch"],
    "batch_zero":              ["batch must be a positive integer, got 0"],
    "batch_negative":          ["batch must be a positive integer, got -2"],
    "bench_seconds_zero":      ["seconds must be in (0, 86400], got 0"],
    "run_threads_negative":    ["--threads must be >= 0, got -1"],
    "profile_iterations_zero": ["--iterations must be positive, got 0"],
    "dim_unknown_name":        ["no dynamic dim named 'seqlen'"],
    "dim_malformed":           ["--dim 'seqlen' must be name=value"],
    # artifacts
    "artifact_weight_byte_flipped": ["section weights at offset"],
    "artifact_header_byte_flipped": ["checksum", "corrupt", "header"],
    "artifact_truncated":      ["truncat", "corrupt", "size"],
    "artifact_newer_version":  ["format version 999, newer than this kiln supports"],
    "artifact_random_bytes":   ["magic", "not a kiln", "corrupt"],
    # .npy inputs
    "npy_wrong_dtype":         ["dtype"],
    "npy_wrong_shape":         ["inputs have different sequence lengths: 'attention_mask' has 37, the others 36"],
    "sequence_too_long":       ["a sequence of 38 tokens is longer than the longest compiled length (37)"],
    "npy_wrong_rank":          ["rank", "shape"],
    "npy_corrupt_header":      ["npy", "header"],
    "npy_fortran_order":       ["fortran"],
    "input_unknown_name":      ["nonexistent"],
    "input_missing":           ["attention_mask"],
    "input_duplicate":         ["duplicate", "more than once", "twice"],
    "input_without_equals":    ["--input", "name=path"],
    "npy_nonexistent":         ["no such file", "not found", "cannot open", "does not exist"],
    # outputs / runtime
    "output_dir_unwritable":   ["output", "director"],
    "token_id_out_of_range":   ["(gather): index "],
    # precision options and calibration files
    "cast_type_int4":          ["cast_type 'int4' is not supported (expected bf16 or fp16)"],
    "auto_cast_unknown":       ["auto_cast 'most' is not supported (expected none, matmult or all)"],
    "quantize_unknown":        ["quantize 'int4' is not supported (expected int8)"],
    "quantize_with_auto_cast": ["quantize int8 combines only with auto_cast matmult in bf16", "got auto_cast all in bf16"],
    "calibration_missing":     ["cannot read calibration file", "no such file"],
    "calibration_empty":       ["has no samples"],
    "calibration_malformed":   [":2: not valid json"],
    "calibration_not_object":  [":1: expected an object"],
    "calibration_wrong_columns": [":1: the sample's keys (attention_mask, input_ids, tokens) do not match the model inputs (attention_mask, input_ids, token_type_ids)"],
    "calibration_wrong_length": [":1: input 'input_ids' has 3 values, expected"],
    "calibration_not_integers": [":1: input 'attention_mask': expected integers"],
    "calibrate_without_use":   ["--calibrate is used by --quantize int8"],
    "verify_impossible_tolerance": ["exceeds the tolerance 0", "no artifact written"],
    "tolerance_negative":      ["tolerance must be a non-negative number, got -1"],
    # runtime placement: replicas, pipelines, core groups
    "instances_zero":          ["instances values must be at least 1, got 0"],
    "pipeline_more_than_layers": ["3 pipeline stages is more than the model's 2 layers"],
    "pipeline_more_than_cores": ["no combination of instances and pipeline fits the"],
    "pipeline_cores_negative": ["pipeline_stages must be a positive integer, got -1"],
    "cores_nonexistent":       ["core 4096 does not exist or is not available"],
    "cores_malformed":         ["'a-b' is not a cpu id or a range like 0-3"],
    "core_groups_zero":        ["the number of core groups must be at least 1, got 0"],
    "sweep_batch_malformed":   ["--batch '1,x': 'x' is not an integer"],
    "input_role_unknown_role": ["input_roles['input_ids'] = 'tokens': the role must be token_ids"],
    "input_role_unknown_input": ["input_roles['ids'] = 'token_ids': the model has no input named 'ids'"],
    "seq_list_malformed":      ["--seq '16,x': 'x' is not an integer"],
    # text: tokenizers and eval
    "text_without_tokenizer":  ["has no tokenizer: compile it with --vocab vocab.txt or --tokenizer tokenizer.json"],
    "text_invalid_utf8":       ["the text is not valid utf-8 (byte 0xff at offset 2)"],
    "tokenize_no_source":      ["give exactly one of artifact, --vocab file or --tokenizer file"],
    "vocab_without_specials":  ["the vocabulary has no [unk] token"],
    "eval_missing_columns":    [":3: expected at least 2 tab-separated columns, found 1"],
    "eval_label_not_integer":  [":2: label 'positive' is not an integer"],
    "eval_label_out_of_range": [":2: label '99999999999999999999999' is out of range"],
    # command line (extra cases)
    "unknown_subcommand":      ["frobnicate", "unknown", "command"],
    "unknown_option":          ["--no-such-option", "unknown", "option"],
    # regression inputs found by hand or by the fuzzers (tests/fuzz/regressions/)
    "regression_onnx_constant_value_not_tensor": ["attribute 'value' must be a tensor"],
    # compile --constant-input NAME=FILE.npy (a graph input bound to a value at compile time)
    "constant_input_unknown_name": ["constant_inputs['nosuch']: the model has no input named 'nosuch' (its inputs: input_ids, "],
    "constant_input_wrong_dtype": ["constant_inputs['input_ids']: the value has dtype f32, but input 'input_ids' is i64[batch,sequence]"],
    "constant_input_wrong_rank": ["constant_inputs['input_ids']: the value has shape [111], but input 'input_ids' is i64[batch,sequence]"],
    "constant_input_malformed": ["--constant-input 'input_ids' must be name=file.npy"],
    "constant_input_npy_missing": ["no such file", "cannot open", "does not exist"],
    # a missing or misspelt command: named, with the list of commands (exit status 2, a usage error)
    "unknown_command":         ["unknown command 'foo' (commands: analyze, compile, inspect, run, bench, profile, ls, tokenize, eval, serve, top, tune)"],
    "no_command":              ["no command given (commands: analyze, compile, inspect, run, bench, profile, ls, tokenize, eval, serve, top, tune; see 'kiln --help')"],
}

# Inputs that once crashed kiln, kept by tests/fuzz (the fuzz tests replay them too).
REGRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "regressions")

# Unsupported-op model: two nodes of a made-up custom-domain op and one node of
# a real ONNX op kiln is not expected to support.  The compile error must name
# every op type and every node name, with per-type counts.
UNSUPPORTED_DOMAIN = "com.kiln.test"
UNSUPPORTED_NODES = [("FooBar", "foobar_first"), ("FooBar", "foobar_second"), ("Det", "det_only")]
# The per-type count must appear just after the type name ("FooBar x2",
# "FooBar (2 nodes)", "FooBar [com.kiln.test] x2") or just before it ("2 x FooBar").
COUNT_PATTERN = r"{op}[^\n]{{0,24}}?(?<![0-9]){n}(?![0-9])|(?<![0-9]){n}(?![0-9])[^\n]{{0,6}}{op}"

# Kiln artifact layout (to be confirmed by the lead): bytes 0-7 magic
# b"KILNART\0", bytes 8-11 little-endian uint32 format version.
ARTIFACT_MAGIC = b"KILNART\0"
ARTIFACT_VERSION_OFFSET = 8
ARTIFACT_HEADER_FLIP_OFFSET = 16  # a byte just after magic+version, inside the header/metadata


def set_artifact_version(data, version):
    """Return artifact bytes with the format-version field replaced."""
    data = bytearray(data)
    struct.pack_into("<I", data, ARTIFACT_VERSION_OFFSET, version)
    return bytes(data)


def flip_byte(data, offset):
    data = bytearray(data)
    data[offset] ^= 0xFF
    return bytes(data)


# ---------------------------------------------------------------------------
# Running and checking
# ---------------------------------------------------------------------------


class Result:
    def __init__(self):
        self.problems = []

    def fail(self, msg):
        self.problems.append(msg)


def run_kiln(argv, timeout):
    """Returns (returncode or None on timeout, stdout, stderr, seconds)."""
    t0 = time.time()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode("utf-8", "replace"), (e.stderr or b"").decode("utf-8", "replace"), time.time() - t0
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), time.time() - t0


def check_error(res, rc, stderr, expect_key, timeout):
    """The common contract for a rejected input."""
    if rc is None:
        res.fail("hung: no exit within %ss" % timeout)
        return
    if rc < 0:
        res.fail("killed by signal %d" % -rc)
    elif rc == 0:
        res.fail("exit code 0, expected failure")
    text = stderr.strip("\r\n")
    lines = [l for l in stderr.splitlines() if l.strip()]
    if not lines:
        res.fail("stderr is empty")
        return
    if "\n" in text:
        res.fail("stderr has %d lines, expected exactly 1" % len(text.split("\n")))
    if not lines[-1].startswith("kiln: error: "):
        res.fail("last stderr line does not start with 'kiln: error: '")
    wanted = EXPECT[expect_key]
    low = stderr.lower()
    if not any(s.lower() in low for s in wanted):
        res.fail("stderr contains none of %r" % (wanted,))


def make_unsupported_model(path):
    """input_ids -> Gather(embedding) -> FooBar -> FooBar -> Reshape -> Det -> out."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.RandomState(7)
    emb = numpy_helper.from_array(rng.randn(50, 16).astype(np.float32), "embedding")
    shape = numpy_helper.from_array(np.array([0, 0, 4, 4], dtype=np.int64), "square_shape")
    nodes = [
        helper.make_node("Gather", ["embedding", "input_ids"], ["emb"], name="embed_lookup"),
        helper.make_node("FooBar", ["emb"], ["foo1"], name="foobar_first", domain=UNSUPPORTED_DOMAIN),
        helper.make_node("FooBar", ["foo1"], ["foo2"], name="foobar_second", domain=UNSUPPORTED_DOMAIN),
        helper.make_node("Reshape", ["foo2", "square_shape"], ["sq"], name="to_square"),
        helper.make_node("Det", ["sq"], ["logits"], name="det_only"),
    ]
    graph = helper.make_graph(
        nodes, "unsupported_ops",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence"])],
        initializer=[emb, shape],
    )
    model = helper.make_model(graph, producer_name="kiln-test",
                              opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid(UNSUPPORTED_DOMAIN, 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)  # custom-domain ops are not schema-checked
    onnx.save(model, path)


def write_corrupt_npy_header(path, good):
    """Valid magic + version, then a header that is not a Python dict literal."""
    header = b"{'descr': '<i8', garbage here !!! \x01\x02 not a dict"
    total = 10 + len(header) + 1
    pad = (64 - total % 64) % 64
    header = header + b" " * pad + b"\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
        f.write(good.tobytes())


def vocab_size_of(fdir, meta):
    if "vocab_size" in meta:
        return int(meta["vocab_size"])
    # Fallback: first dim of the initializer gathered with input_ids.
    import onnx
    m = onnx.load(os.path.join(fdir, "model.onnx"))
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Gather" and len(n.input) == 2 and n.input[1] == "input_ids" and n.input[0] in inits:
            return int(inits[n.input[0]].dims[0])
    raise RuntimeError("cannot determine vocab size")


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", required=True, help="path to the kiln binary")
    p.add_argument("--fixtures", required=True, help="directory written by make_fixtures.py")
    p.add_argument("--fixture", default="bert_seqcls", help="good base fixture (default bert_seqcls)")
    p.add_argument("--timeout", type=float, default=60, help="seconds per kiln invocation (default 60)")
    p.add_argument("--only", nargs="+", action="extend", metavar="CASE", help="run only these cases")
    p.add_argument("--keep", action="store_true", help="keep the temp dir with the bad files")
    p.add_argument("-v", "--verbose", action="store_true", help="print kiln's stderr for passing cases too")
    args = p.parse_args()

    kiln = os.path.abspath(args.kiln)
    fdir = os.path.join(args.fixtures, args.fixture)
    if not (os.path.isfile(kiln) and os.access(kiln, os.X_OK)):
        print("test_bad_input: error: kiln binary not found or not executable: %s" % kiln)
        print("0 passed, 1 failed")
        return 1
    if not os.path.isfile(os.path.join(fdir, "meta.json")):
        print("test_bad_input: error: fixture not found: %s (run tools/fixtures/make_fixtures.py)" % fdir)
        print("0 passed, 1 failed")
        return 1
    with open(os.path.join(fdir, "meta.json")) as f:
        meta = json.load(f)

    tmp = tempfile.mkdtemp(prefix="kiln_bad_input_")
    T = lambda *parts: os.path.join(tmp, *parts)
    model = os.path.join(fdir, "model.onnx")
    B, S = str(meta["batch"]), str(meta["seq"])
    good_inputs = {n: os.path.join(fdir, "inputs", n + ".npy") for n in meta["inputs"]}
    ids = np.load(good_inputs["input_ids"])
    out_dir = T("out")

    def compile_argv(model_path, extra=None):
        return [kiln, "compile", model_path, "-o", T("x.kiln")] + (extra if extra is not None else ["--batch", B, "--seq", S])

    def input_args(overrides=None, drop=(), extra=()):
        inputs = dict(good_inputs)
        inputs.update(overrides or {})
        argv = []
        for n, path in inputs.items():
            if n not in drop:
                argv += ["--input", "%s=%s" % (n, path)]
        return argv + list(extra)

    def run_argv(artifact, in_args=None, out=None):
        return [kiln, "run", artifact] + (in_args if in_args is not None else input_args()) + \
               ["--output-dir", out or out_dir]

    def save(name, arr, **kw):
        path = T(name)
        np.save(path, arr, **kw)
        return path

    # ---- prepare bad files ---------------------------------------------------
    with open(model, "rb") as f:
        model_bytes = f.read()
    open(T("empty.onnx"), "wb").close()
    with open(T("truncated.onnx"), "wb") as f:
        f.write(model_bytes[: len(model_bytes) // 2])
    rng = np.random.RandomState(1234)
    with open(T("random.onnx"), "wb") as f:
        f.write(rng.bytes(4096))
    with open(T("random.kiln"), "wb") as f:
        f.write(rng.bytes(4096))
    make_unsupported_model(T("unsupported.onnx"))

    npy = {
        "dtype": save("ids_float32.npy", ids.astype(np.float32)),
        "shape": save("ids_seq36.npy", np.ascontiguousarray(ids[:, :-1])),
        "rank": save("ids_1d.npy", ids.reshape(-1)),
        "fortran": save("ids_fortran.npy", np.asfortranarray(ids)),
    }
    for n, pth in good_inputs.items():
        a = np.load(pth)
        npy["long_" + n] = save("long_%s.npy" % n, np.concatenate([a, a[:, -1:]], axis=1))  # seq 38
    write_corrupt_npy_header(T("ids_corrupt_header.npy"), ids)
    bad_ids = ids.copy()
    bad_ids[0, 3] = vocab_size_of(fdir, meta) + 5
    npy["oob"] = save("ids_out_of_range.npy", bad_ids)
    with open(T("file.txt"), "w") as f:
        f.write("a regular file\n")
    # Calibration files (JSON Lines, one batch row per line).
    row = {n: np.load(pth)[0].tolist() for n, pth in good_inputs.items()}
    def jsonl(name, lines):
        with open(T(name), "w") as f:
            f.write("".join(l + "\n" for l in lines))
        return T(name)
    calib = {
        "good": jsonl("calib_good.jsonl", [json.dumps(row)] * 2),
        "empty": jsonl("calib_empty.jsonl", ["", "   "]),
        "malformed": jsonl("calib_malformed.jsonl", [json.dumps(row), '{"input_ids": [1, 2,']),
        "not_object": jsonl("calib_not_object.jsonl", ["[1, 2, 3]"]),
        "columns": jsonl("calib_columns.jsonl", [json.dumps({"input_ids": row["input_ids"], "attention_mask": row["attention_mask"],
                                                               "tokens": row["input_ids"]})]),
        "length": jsonl("calib_length.jsonl", [json.dumps(dict(row, input_ids=[1, 2, 3]))]),
        "not_int": jsonl("calib_not_int.jsonl", [json.dumps(dict(row, attention_mask=[0.5] * len(row["attention_mask"])))]),
    }

    # A text model (the trained SST-2 classifier with its tokenizer) and bad TSV files for kiln eval.
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    VOCAB = os.path.join(root, "data", "bert-base-uncased-vocab.txt")
    run_kiln([kiln, "compile", os.path.join(root, "models", "sst2_tiny", "model.onnx"), "-o", T("text.kiln"), "--batch", "2",
              "--seq", "32", "--vocab", VOCAB], args.timeout)
    tsv = {"short": T("short.tsv"), "label": T("label.tsv"), "huge": T("huge.tsv")}
    with open(tsv["short"], "w") as f:
        f.write("label\tsentence\n1\tfine\n0\n")
    with open(tsv["label"], "w") as f:
        f.write("1\tfine\npositive\tgood\n")
    with open(tsv["huge"], "w") as f:
        f.write("1\tfine\n99999999999999999999999\tgood\n")

    # A good artifact to corrupt and to feed bad inputs to.  If this fails,
    # every case that needs it fails with the setup error.
    good_art = T("good.kiln")
    rc, _, err, _ = run_kiln([kiln, "compile", model, "-o", good_art, "--batch", B, "--seq", S], args.timeout)
    art_ok = rc == 0 and os.path.isfile(good_art)
    setup_error = "setup: compiling the good artifact failed (rc=%s): %s" % (rc, err.strip())
    bad_art = {}
    if art_ok:
        with open(good_art, "rb") as f:
            art = f.read()
        variants = {
            "weights": flip_byte(art, len(art) // 2),  # weights dominate the file
            "header": flip_byte(art, ARTIFACT_HEADER_FLIP_OFFSET),
            "truncated": art[: len(art) // 2],
            "version": set_artifact_version(art, 999),
        }
        if not art.startswith(ARTIFACT_MAGIC):
            print("note: the artifact does not start with %r; check the ARTIFACT_* layout constants" % ARTIFACT_MAGIC)
        for k, data in variants.items():
            bad_art[k] = T("bad_%s.kiln" % k)
            with open(bad_art[k], "wb") as f:
                f.write(data)

    # ---- extra checks --------------------------------------------------------
    def unsupported_check(res, rc, out, err):
        """Every unsupported op type and node name appears, with per-type counts."""
        for op, node in UNSUPPORTED_NODES:
            if op.lower() not in err.lower():
                res.fail("op type %s not named in stderr" % op)
            if node.lower() not in err.lower():
                res.fail("node %s not named in stderr" % node)
        counts = {}
        for op, _ in UNSUPPORTED_NODES:
            counts[op] = counts.get(op, 0) + 1
        for op, n in counts.items():
            if not re.search(COUNT_PATTERN.format(op=re.escape(op), n=n), err, re.IGNORECASE):
                res.fail("no count %d next to %s in stderr" % (n, op))

    def analyze_check(expected_rc, ops):
        """`kiln analyze`: op table on stdout; exit 0 iff every op is supported."""
        def check(res, rc, out, err):
            if rc is None:
                res.fail("hung: no exit within %ss" % args.timeout)
                return
            if rc != expected_rc:
                res.fail("exit code %s, expected %d" % (rc, expected_rc))
            for op in ops:
                if op.lower() not in out.lower():
                    res.fail("op type %s not in the stdout table" % op)
        return check

    def no_artifact_check(res, rc, out, err):
        """A compile that fails --verify leaves neither the artifact nor a temporary file."""
        left = [f for f in os.listdir(tmp) if f.startswith("x.kiln")]
        if left:
            res.fail("files left behind: %s" % ", ".join(left))

    # ---- the cases -------------------------------------------------------------
    # (name, argv, needs the good artifact, kind) where kind is None for the
    # plain error contract (check_error with EXPECT[name]), ("error+", f) for the
    # contract plus f, or ("custom", f) for f alone.
    A = good_art
    unsupported_ops = sorted({op for op, _ in UNSUPPORTED_NODES})
    cases = [
        ("model_empty", compile_argv(T("empty.onnx")), False, None),
        ("model_truncated", compile_argv(T("truncated.onnx")), False, None),
        ("model_random_bytes", compile_argv(T("random.onnx")), False, None),
        ("model_nonexistent", compile_argv(T("does_not_exist.onnx")), False, None),
        ("unsupported_ops_compile", compile_argv(T("unsupported.onnx")), False, ("error+", unsupported_check)),
        ("unsupported_ops_analyze", [kiln, "analyze", T("unsupported.onnx")], False,
         ("custom", analyze_check(1, unsupported_ops))),
        ("analyze_good_model_control", [kiln, "analyze", model], False,
         ("custom", analyze_check(0, ["MatMul", "Softmax"]))),
        ("compile_without_seq", compile_argv(model, ["--batch", B]), False, None),
        ("compile_without_batch", compile_argv(model, ["--seq", S]), False, None),
        ("batch_zero", compile_argv(model, ["--batch", "0", "--seq", S]), False, None),
        ("batch_negative", compile_argv(model, ["--batch", "-2", "--seq", S]), False, None),
        ("bench_seconds_zero", [kiln, "bench", A, "--seconds", "0"], True, None),
        ("run_threads_negative", run_argv(A, input_args()) + ["--threads", "-1"], True, None),
        ("profile_iterations_zero", [kiln, "profile", A, "--iterations", "0"], True, None),
        ("dim_unknown_name", compile_argv(model, ["--batch", B, "--seq", S, "--dim", "seqlen=37"]), False, None),
        ("dim_malformed", compile_argv(model, ["--batch", B, "--seq", S, "--dim", "seqlen"]), False, None),
        ("artifact_weight_byte_flipped", run_argv(bad_art.get("weights", "")), True, None),
        ("artifact_header_byte_flipped", run_argv(bad_art.get("header", "")), True, None),
        ("artifact_truncated", run_argv(bad_art.get("truncated", "")), True, None),
        ("artifact_newer_version", run_argv(bad_art.get("version", "")), True, None),
        ("artifact_random_bytes", run_argv(T("random.kiln")), False, None),
        ("npy_wrong_dtype", run_argv(A, input_args({"input_ids": npy["dtype"]})), True, None),
        ("npy_wrong_shape", run_argv(A, input_args({"input_ids": npy["shape"]})), True, None),
        ("npy_wrong_rank", run_argv(A, input_args({"input_ids": npy["rank"]})), True, None),
        ("sequence_too_long", run_argv(A, input_args({n: npy["long_" + n] for n in good_inputs})), True, None),
        ("npy_corrupt_header", run_argv(A, input_args({"input_ids": T("ids_corrupt_header.npy")})), True, None),
        ("npy_fortran_order", run_argv(A, input_args({"input_ids": npy["fortran"]})), True, None),
        ("input_unknown_name",
         run_argv(A, input_args(extra=["--input", "nonexistent=" + good_inputs["input_ids"]])), True, None),
        ("input_missing", run_argv(A, input_args(drop=("attention_mask",))), True, None),
        ("input_duplicate",
         run_argv(A, input_args(extra=["--input", "input_ids=" + good_inputs["input_ids"]])), True, None),
        ("input_without_equals",
         run_argv(A, input_args(drop=("input_ids",), extra=["--input", good_inputs["input_ids"]])), True, None),
        ("npy_nonexistent", run_argv(A, input_args({"input_ids": T("missing.npy")})), True, None),
        ("output_dir_unwritable", run_argv(A, out=T("file.txt", "out")), True, None),
        ("token_id_out_of_range", run_argv(A, input_args({"input_ids": npy["oob"]})), True, None),
        ("cast_type_int4", compile_argv(model, ["--batch", B, "--seq", S, "--auto-cast", "matmult", "--auto-cast-type", "int4"]), False, None),
        ("auto_cast_unknown", compile_argv(model, ["--batch", B, "--seq", S, "--auto-cast", "most"]), False, None),
        ("quantize_unknown", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int4"]), False, None),
        ("quantize_with_auto_cast", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--auto-cast", "all"]), False, None),
        ("calibration_missing", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", T("none.jsonl")]), False, None),
        ("calibration_empty", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["empty"]]), False, None),
        ("calibration_malformed", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["malformed"]]), False, None),
        ("calibration_not_object", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["not_object"]]), False, None),
        ("calibration_wrong_columns", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["columns"]]), False, None),
        ("calibration_wrong_length", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["length"]]), False, None),
        ("calibration_not_integers", compile_argv(model, ["--batch", B, "--seq", S, "--quantize", "int8", "--calibrate", calib["not_int"]]), False, None),
        ("calibrate_without_use", compile_argv(model, ["--batch", B, "--seq", S, "--calibrate", calib["good"]]), False, None),
        ("verify_impossible_tolerance", compile_argv(model, ["--batch", B, "--seq", S, "--auto-cast", "all", "--verify", "--tolerance", "0"]),
         False, ("error+", no_artifact_check)),
        ("tolerance_negative", compile_argv(model, ["--batch", B, "--seq", S, "--verify", "--tolerance", "-1"]), False, None),
        ("instances_zero", [kiln, "bench", A, "--instances", "0", "--seconds", "0.1"], True, None),
        ("pipeline_more_than_layers", compile_argv(model, ["--batch", B, "--seq", S, "--pipeline-cores", "3"]), False, None),
        ("pipeline_more_than_cores", [kiln, "bench", A, "--pipeline", "64", "--instances", "64", "--seconds", "0.1"], True, None),
        ("pipeline_cores_negative", compile_argv(model, ["--batch", B, "--seq", S, "--pipeline-cores", "-1"]), False, None),
        ("cores_nonexistent", [kiln, "ls", "--cores", "0,4096"], False, None),
        ("cores_malformed", [kiln, "ls", "--cores", "a-b"], False, None),
        ("core_groups_zero", [kiln, "ls", "--core-groups", "0"], False, None),
        ("sweep_batch_malformed", [kiln, "bench", A, "--batch", "1,x", "--seconds", "0.1"], True, None),
        ("input_role_unknown_role", compile_argv(model, ["--batch", B, "--seq", S, "--input-role", "input_ids=tokens"]), False, None),
        ("input_role_unknown_input", compile_argv(model, ["--batch", B, "--seq", S, "--input-role", "ids=token_ids"]), False, None),
        ("seq_list_malformed", compile_argv(model, ["--batch", B, "--seq", "16,x"]), False, None),
        ("text_without_tokenizer", [kiln, "run", A, "--text", "hello"], True, None),
        ("text_invalid_utf8", [kiln, "tokenize", "--vocab", VOCAB, "--text", os.fsdecode(b"ok\xff")], False, None),
        ("tokenize_no_source", [kiln, "tokenize", "--text", "hello"], False, None),
        ("vocab_without_specials", [kiln, "tokenize", "--vocab", T("file.txt"), "--text", "hello"], False, None),
        ("eval_missing_columns", [kiln, "eval", T("text.kiln"), "--data", tsv["short"]], False, None),
        ("eval_label_not_integer", [kiln, "eval", T("text.kiln"), "--data", tsv["label"]], False, None),
        ("eval_label_out_of_range", [kiln, "eval", T("text.kiln"), "--data", tsv["huge"]], False, None),
        ("unknown_subcommand", [kiln, "frobnicate", model], False, None),
        ("unknown_option", compile_argv(model, ["--batch", B, "--seq", S, "--no-such-option"]), False, None),
        ("regression_onnx_constant_value_not_tensor", compile_argv(os.path.join(REGRESSIONS, "onnx", "onnx-import-segv.onnx"),
                                                                   ["--batch", "2", "--seq", "16"]), False, None),
        ("constant_input_unknown_name", compile_argv(model, ["--batch", B, "--seq", S, "--constant-input", "nosuch=" + good_inputs["input_ids"]]), False, None),
        ("constant_input_wrong_dtype", compile_argv(model, ["--batch", B, "--seq", S, "--constant-input", "input_ids=" + npy["dtype"]]), False, None),
        ("constant_input_wrong_rank", compile_argv(model, ["--batch", B, "--seq", S, "--constant-input", "input_ids=" + npy["rank"]]), False, None),
        ("constant_input_malformed", compile_argv(model, ["--batch", B, "--seq", S, "--constant-input", "input_ids"]), False, None),
        ("constant_input_npy_missing", compile_argv(model, ["--batch", B, "--seq", S, "--constant-input", "input_ids=" + T("missing.npy")]), False, None),
        ("unknown_command", [kiln, "foo"], False,
         ("error+", lambda res, rc, out, err: rc == 2 or res.fail("exit code %s, expected 2" % rc))),
        ("no_command", [kiln], False, ("error+", lambda res, rc, out, err: rc == 2 or res.fail("exit code %s, expected 2" % rc))),
    ]
    if args.only:
        unknown = set(args.only) - {c[0] for c in cases}
        if unknown:
            p.error("unknown case(s): %s" % ", ".join(sorted(unknown)))
        cases = [c for c in cases if c[0] in args.only]

    passed = failed = 0
    for name, argv, needs_artifact, kind in cases:
        res = Result()
        rc, out, err, dt = None, "", "", 0.0
        if needs_artifact and not art_ok:
            res.fail(setup_error)
            argv = None
        else:
            rc, out, err, dt = run_kiln(argv, args.timeout)
            if kind is None or kind[0] == "error+":
                check_error(res, rc, err, name, args.timeout)
            if kind is not None and rc is not None:
                kind[1](res, rc, out, err)
        ok = not res.problems
        passed, failed = passed + ok, failed + (not ok)
        print("%s %-30s rc=%-4s %.2fs" % ("PASS" if ok else "FAIL", name, rc, dt))
        if not ok:
            for prob in res.problems:
                print("    - " + prob)
            if argv is not None:
                print("    command: " + " ".join(argv))
        if (not ok or args.verbose) and err.strip():
            print("    stderr: " + err.rstrip().replace("\n", "\n            "))
        if (not ok or args.verbose) and kind is not None and kind[0] == "custom" and out.strip():
            print("    stdout: " + out.rstrip().replace("\n", "\n            "))
        sys.stdout.flush()

    if args.keep:
        print("bad files kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
