"""kiln.compile / load / save / Model calls with NumPy and torch, text, info, analyze, bench: against the CLI
(`kiln run`), PyTorch, and the model's own outputs."""
import json
import os
import subprocess

import numpy as np
import pytest
import torch

from conftest import ROOT, SST2, VOCAB, sst2_inputs


def test_compile_load_save_roundtrip(kiln, work):
    m = kiln.compile(SST2, batch=2, seq=32)
    assert m.compile_report["precision"] == "fp32" and m.compile_report["steps"] > 0
    temp = m.path
    assert os.path.exists(temp)
    x = sst2_inputs(2, 32)
    y = m(**x)
    saved = os.path.join(work, "roundtrip.kiln")
    m.save(saved)
    m.close()
    assert not os.path.exists(temp)  # kiln.compile's temporary artifact goes with its model
    with kiln.load(saved) as again:
        np.testing.assert_array_equal(again(**x), y)


def test_numpy_matches_the_cli(kiln, kiln_bin, sst2_path, work, sst2):
    x = sst2_inputs(3, 40, seed=1)
    npy = {}
    for name, a in x.items():
        npy[name] = os.path.join(work, name + ".npy")
        np.save(npy[name], a)
    out = os.path.join(work, "cli_out")
    subprocess.run([kiln_bin, "run", sst2_path, "--output-dir", out] +
                   sum([["--input", "%s=%s" % (n, p)] for n, p in npy.items()], []), check=True, stdout=subprocess.DEVNULL)
    cli = np.load(os.path.join(out, sst2.output_names[0] + ".npy"))
    np.testing.assert_array_equal(sst2(**x), cli)


def test_positional_named_and_run_agree(sst2):
    x = sst2_inputs(2, 16)
    a = sst2(x["input_ids"], x["attention_mask"], x["token_type_ids"])
    b = sst2(x["input_ids"], attention_mask=x["attention_mask"], token_type_ids=x["token_type_ids"])
    c = sst2.run(x)
    assert list(c) == sst2.output_names
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c[sst2.output_names[0]])
    assert a.dtype == np.float32 and a.shape == (2, 2)


def test_any_rows_and_lengths_match_one_row_at_a_time(sst2):
    x = sst2_inputs(7, 50, seed=3)  # 7 rows: two calls of batch 4; length 50: bucket 64
    whole = sst2(**x)
    for r in range(7):
        one = sst2(**{k: v[r:r + 1] for k, v in x.items()})
        np.testing.assert_allclose(one[0], whole[r], rtol=1e-5, atol=1e-5)
    short = sst2_inputs(1, 9, seed=4)  # bucket 16
    assert sst2(**short).shape == (1, 2)


def test_torch_in_torch_out_and_int32_ids(sst2):
    x = sst2_inputs(2, 16)
    t = {k: torch.from_numpy(v) for k, v in x.items()}
    y = sst2(**t)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    np.testing.assert_array_equal(y.numpy(), sst2(**x))
    d = sst2.run(t)
    assert isinstance(d[sst2.output_names[0]], torch.Tensor)
    x32 = {k: v.astype(np.int32) for k, v in x.items()}
    np.testing.assert_array_equal(sst2(**x32), sst2(**x))


def test_non_contiguous_inputs_are_copied_once_and_give_the_same_answer(sst2):
    x = sst2_inputs(2, 16, seed=5)
    wide = {k: np.repeat(v, 2, axis=1)[:, ::2] for k, v in x.items()}  # strided views of the same values
    fortran = {k: np.asfortranarray(v) for k, v in x.items()}
    assert not wide["input_ids"].flags.c_contiguous and not fortran["input_ids"].flags.c_contiguous
    np.testing.assert_array_equal(sst2(**wide), sst2(**x))
    np.testing.assert_array_equal(sst2(**fortran), sst2(**x))
    t = {k: torch.from_numpy(v).t().contiguous().t() for k, v in x.items()}  # non-contiguous torch tensors
    assert not t["input_ids"].is_contiguous()
    np.testing.assert_array_equal(sst2(**t).numpy(), sst2(**x))


def test_outputs_own_their_memory(sst2):
    x = sst2_inputs(1, 16)
    a = sst2(**x)
    b = sst2(**x)
    assert not np.shares_memory(a, b)
    a[...] = 0  # writable, and writing it changes nothing else
    assert np.abs(b).sum() > 0


def test_info(sst2):
    i = sst2.info
    assert [t.name for t in i.inputs] == ["input_ids", "attention_mask", "token_type_ids"]
    assert i.inputs[0].role == "token_ids" and i.inputs[0].shape == (-1, -1) and i.inputs[0].dtype == "i64"
    assert i.inputs[0].compiled_shape == (4, 64)
    assert i.labels == ("negative", "positive") and i.task == "classification"
    assert i.precision == "fp32" and i.buckets == (16, 64) and i.batch == 4 and i.has_tokenizer
    assert "kiln.Model" in repr(sst2)


def test_text_classify_embed_tokenize_match_the_cli(kiln, kiln_bin, sst2, sst2_path, work):
    texts = ["a wonderful, moving film", "dull and far too long"]
    c = sst2.classify(texts)
    assert [r["label"] for r in c] == ["positive", "negative"]
    for text, r in zip(texts, c):
        cli = json.loads(subprocess.run([kiln_bin, "run", sst2_path, "--text", text, "--json"], check=True,
                                        capture_output=True, text=True).stdout)
        assert cli["label"] == r["label"] and cli["tokens"] == r["tokens"]
        assert [(s["label"], s["score"]) for s in cli["scores"]] == [(s["label"], s["score"]) for s in r["scores"]]
    assert abs(sum(s["score"] for s in c[0]["scores"]) - 1) < 1e-6
    assert sst2.classify("fine")["label"] in ("negative", "positive")  # one string: one result
    tok = sst2.tokenize(["Hello, world!"])[0]
    assert tok["tokens"] == ["[CLS]", "hello", ",", "world", "!", "[SEP]"] and tok["ids"][0] == 101
    pair = sst2.tokenize("a", pairs="b")
    assert pair["token_type_ids"] == [0, 0, 0, 1, 1]
    with pytest.raises(kiln.InvalidInputError, match="embedding model"):
        sst2.embed(texts)
    with kiln.compile(SST2, batch=2, seq=16, vocab=VOCAB, task="embedding") as m:  # output rows as embeddings
        e = m.embed(texts, normalize=True)
        raw = m.embed(texts)
        assert e.shape == (2, 2) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-6)
        logits = np.array([[s["logit"] for s in sorted(r["scores"], key=lambda s: s["index"])] for r in c])
        np.testing.assert_allclose(raw, logits, rtol=1e-5, atol=1e-5)
        assert m.embed("one text").shape == (2,)


def test_analyze(kiln):
    r = kiln.analyze(SST2)
    assert r["all_supported"] and any(o["op"] == "MatMul" for o in r["ops"])
    assert "operator" in r["table"] and "all supported" in r["table"]


def test_bench_returns_the_cli_json(kiln, sst2):
    r = kiln.bench(sst2, seconds=0.3, warmup=1)
    assert r["iterations"] > 0 and r["latency_ms"]["p50"] > 0 and r["throughput"] > 0
    s = kiln.bench(sst2.path, seconds=0.3, batch=[1, 2], concurrency=2)
    assert [row["batch"] for row in s["rows"]] == [1, 2] and all(row["requests"] > 0 for row in s["rows"])


def test_stats_count_the_calls(kiln, sst2_path):
    with kiln.load(sst2_path, max_batch_delay_us=0) as m:
        m(**sst2_inputs(6, 16))
        s = m.stats()
        assert s["requests"] == 1 and s["rows"] == 6 and s["calls"] == 2 and s["completed"] == 1


def test_hf_folder(kiln, fixtures_dir, work):
    hf = os.path.join(work, "hf")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "fixtures", "make_hf_folders.py"), fixtures_dir, hf,
                    "--only", "bert_seqcls"], check=True, stdout=subprocess.DEVNULL)
    folder = os.path.join(hf, "bert_seqcls")
    m = kiln.hf.compile(folder, batch=2, seq=24)
    assert m.info.has_tokenizer and m.info.task == "classification"
    onnx = kiln.compile(os.path.join(fixtures_dir, "bert_seqcls", "model.onnx"), batch=2, seq=24)
    x = {"input_ids": np.full((2, 24), 200, np.int64), "attention_mask": np.ones((2, 24), np.int64),
         "token_type_ids": np.zeros((2, 24), np.int64)}
    np.testing.assert_allclose(m(**x), onnx(**x), atol=1e-5)
    assert m.classify(["hello world"])[0]["label"]
