"""kiln.compile, kiln.analyze and kiln.bench: the CLI's compile, analyze and bench, as functions."""

import json
import os
import tempfile

from . import _kiln
from .model import Model


def compile(model_path, output=None, *, batch=None, seq=None, auto_cast=None, auto_cast_type=None, quantize=None,
            calibrate=None, pipeline_cores=None, verify=False, tolerance=None, vocab=None, labels=None, task=None,
            **options) -> Model:
    """Compiles an ONNX file or a Hugging Face folder, as `kiln compile` does, and opens the result.

    batch, seq     values for the model's symbolic batch and sequence dims; seq may be a list of lengths
                   (one plan per length in one artifact, like `--seq 32,64,128`)
    auto_cast      "none" | "matmult" | "all";  auto_cast_type: "bf16" | "fp16"
    quantize       "none" | "int8";  calibrate: a JSON Lines file of samples for static int8
    pipeline_cores stages of a pipeline, each on its own core group
    verify, tolerance  run the fp32 reference against the compiled model on sample inputs and raise
                   kiln.InvalidInputError, writing nothing, when the max abs error exceeds tolerance
    vocab          a BERT vocab.txt or a Hugging Face tokenizer.json, stored in the artifact (text in)
    labels, task   class names, and what the model is for (classification, embedding, ...)
    **options      lowercase, pad_id, dims {name: value}, input_roles {name: role}, fuse

    `output`: where to write the artifact; by default a temporary file the returned model owns (removed
    when it is closed or collected; Model.save keeps a copy). Returns a kiln.Model; its compile_report
    holds what the compiler reported.
    """
    given = dict(batch=batch, seq=seq, auto_cast=auto_cast, auto_cast_type=auto_cast_type, quantize=quantize,
                 calibrate=calibrate, pipeline_cores=pipeline_cores, verify=verify, tolerance=tolerance,
                 vocab=vocab, labels=labels, task=task, **options)
    given = {k: (os.fspath(v) if k in ("calibrate", "vocab") else v) for k, v in given.items() if v is not None}
    if isinstance(given.get("seq"), (list, tuple)):
        given["seq"] = list(given["seq"])
    temp_dir = None
    if output is None:
        temp_dir = tempfile.mkdtemp(prefix="kiln-")
        output = os.path.join(temp_dir, "model.kiln")
    try:
        report = _kiln.compile_file(os.fspath(model_path), os.fspath(output), given)
        model = Model(output)
    except BaseException:
        if temp_dir is not None:
            import shutil
            shutil.rmtree(temp_dir, True)
        raise
    model.compile_report = report
    if temp_dir is not None:
        model._own_directory(temp_dir)
    return model


def analyze(model_path, print_table=False) -> dict:
    """Operator support of an ONNX model before compiling (`kiln analyze --json`): {"ops": [{"op", "count",
    "supported", "nodes"}], "all_supported", "inputs", "outputs", "opset", ...}, plus "table", the text
    `kiln analyze` prints (printed too with print_table)."""
    text, table = _kiln.analyze(os.fspath(model_path))
    report = json.loads(text)
    report["table"] = table
    if print_table:
        print(table, end="")
    return report


def bench(model, seconds=10.0, *, batch=None, instances=None, pipeline=None, concurrency=None, max_delay_us=0,
          latency_budget_ms=0.0, warmup=3, rounds=0, threads=0, engine=False) -> dict:
    """Measures a compiled model, as `kiln bench` does, and returns its JSON (docs/cli.md) as a dict.

    `model`: a kiln.Model, an artifact path, or a list of them (interleaved rounds, accuracy against the
    first fp32 one). Plain: back-to-back calls of the compiled batch ({"throughput", "latency_ms": {"p50",
    "p99", ...}, ...}); engine=True times them through the serving Engine. With any of batch (rows per
    request), instances, pipeline or concurrency (lists or ints): a sweep of the Engine under concurrent
    clients ({"rows": [...]}, docs/tuning.md). Not for timed unit tests.
    """
    models = model if isinstance(model, (list, tuple)) else [model]
    paths = [m.path if isinstance(m, Model) else os.fspath(m) for m in models]
    sweep = [batch, instances, pipeline, concurrency]
    if any(v is not None for v in sweep):
        def as_list(v, default):
            return default if v is None else ([int(v)] if isinstance(v, int) else [int(x) for x in v])
        text = _kiln.bench_sweep(paths, as_list(batch, []), as_list(instances, [1]), as_list(pipeline, [1]),
                                 as_list(concurrency, [1]), int(max_delay_us), float(seconds), float(latency_budget_ms))
    else:
        text = _kiln.bench(paths, float(seconds), int(warmup), int(rounds), int(threads), bool(engine))
    return json.loads(text)


__all__ = ["analyze", "bench", "compile"]
