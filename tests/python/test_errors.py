"""Every bad input raises kiln.Error (a kind of it) with a message naming what was found and expected; none
crashes the interpreter, and the model keeps answering afterwards."""
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from conftest import SST2, sst2_inputs


def raises(kiln, kind, fn, *match):
    with pytest.raises(kind) as e:
        fn()
    assert isinstance(e.value, kiln.Error)
    for m in match:
        assert m in str(e.value), str(e.value)
    return str(e.value)


def test_wrong_dtype(kiln, sst2):
    x = sst2_inputs(1, 16)
    x["input_ids"] = x["input_ids"].astype(np.float32)
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids", "f32")
    x["input_ids"] = np.array([["a"] * 16])
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids", "<U1", "int64")
    x["input_ids"] = np.zeros((1, 16), ">i8")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids", ">i8")
    x["input_ids"] = torch.zeros(1, 16, dtype=torch.bfloat16)
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids", "bfloat16")
    x["input_ids"] = None
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids")
    x["input_ids"] = object()
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x), "input_ids", "object")


def test_wrong_rank_and_shape(kiln, sst2):
    x = sst2_inputs(2, 16)
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, input_ids=x["input_ids"][0])), "input_ids")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, attention_mask=x["attention_mask"][:1])), "attention_mask")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**sst2_inputs(1, 65)), "65", "64")  # longer than the longest bucket
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**sst2_inputs(0, 16)))
    empty = {k: np.zeros((1, 0), np.int64) for k in x}
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**empty), "[1,0]")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, input_ids=np.array(5))), "input_ids", "shape []")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, input_ids=x["input_ids"][None, None])), "[1,1,2,16]")


def test_values_out_of_range(kiln, sst2):
    x = sst2_inputs(2, 16)
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, input_ids=np.full((2, 16), 10**12))), "Gather",
           "1000000000000", "out of range")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**dict(x, token_type_ids=np.full((2, 16), 7))), "token_type", "7")


def test_missing_extra_and_doubled_inputs(kiln, sst2):
    x = sst2_inputs(1, 16)
    raises(kiln, kiln.InvalidInputError, lambda: sst2(input_ids=x["input_ids"], attention_mask=x["attention_mask"]), "token_type_ids")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(**x, position_ids=x["input_ids"]), "position_ids", "input_ids, attention_mask")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(x["input_ids"], input_ids=x["input_ids"]), "given twice")
    raises(kiln, kiln.InvalidInputError, lambda: sst2(*x.values(), x["input_ids"]), "4 positional inputs", "takes 3")
    raises(kiln, kiln.InvalidInputError, lambda: sst2.run([x["input_ids"]]), "dict")


def test_text_errors(kiln, sst2, work):
    raises(kiln, kiln.InvalidInputError, lambda: sst2.classify(["ok", 3]), "texts[1]")
    raises(kiln, kiln.InvalidInputError, lambda: sst2.classify(5), "texts")
    raises(kiln, kiln.InvalidInputError, lambda: sst2.classify(["a", "b"], pairs=["x"]), "pair")
    raises(kiln, kiln.InvalidInputError, lambda: sst2.tokenize(["word " * 100], truncate=False), "64")
    plain = kiln.compile(SST2, batch=1, seq=16, task="classification")  # no tokenizer
    raises(kiln, kiln.InvalidInputError, lambda: plain.classify(["hello"]), "tokenizer")


def test_closed_model(kiln, sst2_path):
    m = kiln.load(sst2_path)
    x = sst2_inputs(1, 16)
    m(**x)
    m.close()
    assert m.closed and "closed" in repr(m)
    for call in (lambda: m(**x), lambda: m.classify(["a"]), lambda: m.save("/tmp/x.kiln"), lambda: m.stats()):
        raises(kiln, kiln.InvalidInputError, call, "closed")
    m.close()  # twice is fine


def test_deleted_artifact(kiln, sst2_path, work):
    copy = os.path.join(work, "deleted.kiln")
    shutil.copy(sst2_path, copy)
    m = kiln.load(copy)
    x = sst2_inputs(1, 16)
    before = m(**x)
    os.remove(copy)
    np.testing.assert_array_equal(m(**x), before)  # the mapping keeps the bytes
    saved = os.path.join(work, "resaved.kiln")
    m.save(saved)  # from the mapping, after the file is gone
    with kiln.load(saved) as again:
        np.testing.assert_array_equal(again(**x), before)
    m.close()
    raises(kiln, kiln.InvalidInputError, lambda: kiln.load(copy), "deleted.kiln", "No such file")


def test_bad_files_and_options(kiln, kiln_bin, work):
    bad = os.path.join(work, "bad.kiln")
    with open(bad, "wb") as f:
        f.write(b"not an artifact" * 10)
    msg = raises(kiln, kiln.InvalidInputError, lambda: kiln.load(bad), "bad.kiln")
    cli = subprocess.run([kiln_bin, "inspect", bad], capture_output=True, text=True)
    assert cli.returncode == 1 and cli.stderr.strip() == "kiln: error: " + msg  # the CLI's message, word for word
    raises(kiln, kiln.InvalidInputError, lambda: kiln.compile(os.path.join(work, "missing.onnx")), "missing.onnx")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.compile(SST2, batch=1, seq=16, quantize="int4"), "int4")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.compile(SST2, batch="eight"), "batch")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.compile(SST2, betch=8), "unknown option 'betch'")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.load(SST2 + "x"), "No such file")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.load(os.path.dirname(SST2)))
    m = kiln.compile(SST2, batch=1, seq=16)
    raises(kiln, kiln.InvalidInputError, lambda: m.save(os.path.join(work, "no", "such", "dir", "m.kiln")), "m.kiln")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.load(m.path, instances=0), "instances")
    raises(kiln, kiln.InvalidInputError, lambda: kiln.load(m.path, threads=-1), "threads")


def test_the_model_keeps_answering_after_errors(kiln, sst2):
    x = sst2_inputs(2, 16)
    good = sst2(**x)
    for _ in range(3):
        with pytest.raises(kiln.Error):
            sst2(**dict(x, input_ids=x["input_ids"].astype(np.float64)))
    np.testing.assert_array_equal(sst2(**x), good)


def test_error_kinds(kiln):
    assert issubclass(kiln.InvalidInputError, kiln.Error) and issubclass(kiln.InvalidInputError, ValueError)
    assert issubclass(kiln.InternalError, kiln.Error) and issubclass(kiln.QueueFullError, kiln.Error)
    assert issubclass(kiln.VerificationError, kiln.Error) and issubclass(kiln.Error, RuntimeError)
