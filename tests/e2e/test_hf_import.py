#!/usr/bin/python3
"""Hugging Face checkpoint folders vs the same models exported to ONNX, and their bad-input errors.

    /usr/bin/python3 tests/e2e/test_hf_import.py --kiln build/kiln --fixtures build/fixtures

Writes the four sequence-classification fixtures (BERT, DistilBERT, ELECTRA, XLM-R) and a bare BertModel
as Hugging Face folders (tools/fixtures/make_hf_folders.py: config.json, model.safetensors from our own
writer, vocab.txt), compiles each folder and the fixture's model.onnx, runs both on the fixture inputs
and requires the outputs to agree within 1e-5 (the bare encoder against PyTorch, within 1e-4 as every
fixture); a pytorch_model.bin folder too. Checks the label names (id2label) and the tokenizer (vocab.txt) reach the artifact, then the
errors: a folder without config.json or weights, an unknown model_type, a tensor of the wrong shape, a
truncated safetensors header, a header length beyond the file.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOL = 1e-5


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kiln_hf_")
    hf = os.path.join(tmp, "hf")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "fixtures", "make_hf_folders.py"), args.fixtures, hf],
                   check=True, stdout=subprocess.DEVNULL)
    failures = 0

    def kiln(*a):
        return subprocess.run([args.kiln, *a], capture_output=True, text=True)

    def run(art, fdir, out):
        names = [n[:-4] for n in sorted(os.listdir(os.path.join(fdir, "inputs"))) if n.endswith(".npy")]
        cmd = ["run", art, "--output-dir", out]
        for n in names:
            cmd += ["--input", "%s=%s" % (n, os.path.join(fdir, "inputs", n + ".npy"))]
        r = kiln(*cmd)
        if r.returncode:
            raise SystemExit("kiln run failed: " + r.stderr)

    def report(ok, what, detail):
        nonlocal failures
        failures += not ok
        print("%s %-48s %s" % ("PASS" if ok else "FAIL", what, detail))

    wild = ["bert_seqcls_bin", "bert_seqcls_buffers", "bert_seqcls_legacy_bin", "bert_seqcls_sharded", "bert_seqcls_sharded_bin"]
    for name in ["bert_seqcls", "distilbert_seqcls", "electra_seqcls", "xlmr_seqcls"] + wild:
        fdir = os.path.join(args.fixtures, "bert_seqcls" if name in wild else name)
        a_hf, a_onnx = os.path.join(tmp, name + "_hf.kiln"), os.path.join(tmp, name + "_onnx.kiln")
        r1 = kiln("compile", os.path.join(hf, name), "-o", a_hf, "--batch", "3", "--seq", "37")
        r2 = kiln("compile", os.path.join(fdir, "model.onnx"), "-o", a_onnx, "--batch", "3", "--seq", "37")
        if r1.returncode or r2.returncode:
            report(False, name + ": compile", (r1.stderr + r2.stderr).strip())
            continue
        run(a_hf, fdir, os.path.join(tmp, name + "_hf"))
        run(a_onnx, fdir, os.path.join(tmp, name + "_onnx"))
        x = np.load(os.path.join(tmp, name + "_hf", "logits.npy"))
        y = np.load(os.path.join(tmp, name + "_onnx", "logits.npy"))
        diff = float(np.abs(x - y).max()) if x.shape == y.shape else float("inf")
        report(diff <= TOL, name + ": HF folder vs ONNX", "max |diff| %.2e" % diff)
        meta = json.loads(kiln("inspect", a_hf, "--json").stdout)
        ok = meta.get("labels", [None])[0] == "LABEL_0" and "tokenizer" in meta and meta["source"]["format"].startswith("huggingface")
        report(ok, name + ": labels, tokenizer, source", "labels %s, tokenizer %s" % (meta.get("labels"), meta.get("tokenizer")))

    # The bare encoder against PyTorch's BertModel on the same weights.
    sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
    import make_fixtures as mf
    import torch
    fdir = os.path.join(args.fixtures, "bert_seqcls")
    with open(os.path.join(fdir, "meta.json")) as f:
        seed = json.load(f)["seed"]
    spec = mf.FIXTURES["bert_seqcls"]
    model = spec["model_class"](mf.Config(**spec["config"]))
    mf.init_weights(model, seed)
    model.eval()
    inp = {n: np.load(os.path.join(fdir, "inputs", n + ".npy")) for n in ["input_ids", "attention_mask", "token_type_ids"]}
    with torch.no_grad():
        want = model.bert(torch.from_numpy(inp["input_ids"]), attention_mask=torch.from_numpy(inp["attention_mask"]),
                          token_type_ids=torch.from_numpy(inp["token_type_ids"]))[0].numpy()
    art = os.path.join(tmp, "base.kiln")
    r = kiln("compile", os.path.join(hf, "bert_seqcls_base"), "-o", art, "--batch", "3", "--seq", "37")
    if r.returncode:
        report(False, "bert base: compile", r.stderr.strip())
    else:
        out = os.path.join(tmp, "base_out")
        run(art, fdir, out)
        got = np.load(os.path.join(out, "last_hidden_state.npy"))
        diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        report(diff <= 1e-4, "BertModel (bare) vs PyTorch: last_hidden_state", "shape %s, max |diff| %.2e" % (got.shape, diff))

    # F16 and BF16 checkpoints: the same model with its weights rounded to that type, computed in fp32.
    inp_cls = {n: np.load(os.path.join(fdir, "inputs", n + ".npy")) for n in ["input_ids", "attention_mask", "token_type_ids"]}
    for kind, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        rounded = spec["model_class"](mf.Config(**spec["config"]))
        mf.init_weights(rounded, seed)
        rounded.eval()
        with torch.no_grad():
            for prm in rounded.parameters():
                prm.copy_(prm.to(dtype).to(torch.float32))
            want = rounded(*(torch.from_numpy(inp_cls[n]) for n in ["input_ids", "attention_mask", "token_type_ids"])).numpy()
        art = os.path.join(tmp, kind + ".kiln")
        r = kiln("compile", os.path.join(hf, "bert_seqcls_" + kind), "-o", art, "--batch", "3", "--seq", "37")
        if r.returncode:
            report(False, "bert_seqcls_%s: compile" % kind, r.stderr.strip())
            continue
        out = os.path.join(tmp, kind + "_out")
        run(art, fdir, out)
        got = np.load(os.path.join(out, "logits.npy"))
        diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        report(diff <= 1e-4, "bert_seqcls_%s vs PyTorch on the rounded weights" % kind, "max |diff| %.2e" % diff)

    # Bad folders: one line, non-zero exit, the expected words.
    def bad(name, mutate, expect, source="bert_seqcls"):
        d = os.path.join(tmp, "bad_" + name)
        shutil.copytree(os.path.join(hf, source), d)
        mutate(d)
        r = kiln("compile", d, "-o", os.path.join(tmp, "bad.kiln"), "--batch", "3", "--seq", "37")
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 1 and len(lines) == 1 and lines[0].startswith("kiln: error: ") and all(e in lines[0] for e in expect)
        report(ok, "bad folder: " + name, lines[0] if lines else "(no error)")

    def rewrite_config(d, **kw):
        p = os.path.join(d, "config.json")
        with open(p) as f:
            c = json.load(f)
        c.update(kw)
        with open(p, "w") as f:
            json.dump(c, f)

    def truncate(d, n):
        p = os.path.join(d, "model.safetensors")
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(data[:n])

    def huge_header(d):
        p = os.path.join(d, "model.safetensors")
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(data) * 10) + data[8:])

    bad("no config", lambda d: os.remove(os.path.join(d, "config.json")), ["has no config.json"])
    bad("no weights", lambda d: os.remove(os.path.join(d, "model.safetensors")), ["has no weights: expected model.safetensors or pytorch_model.bin"])
    bad("unknown model_type", lambda d: rewrite_config(d, model_type="gpt2"),
        ["model_type 'gpt2' is not supported", "bert, roberta, xlm-roberta, distilbert, electra"])
    bad("wrong shape", lambda d: rewrite_config(d, intermediate_size=241),
        ["tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [240,60], expected [241,60]"])
    bad("truncated header", lambda d: truncate(d, 5), ["is truncated", "too short for the 8-byte safetensors header length"])
    bad("header length beyond the file", huge_header, ["safetensors header length", "is larger than the rest of the file"])

    # A pytorch_model.bin whose pickle refers to a global that is not part of a state dict: refused,
    # never imported or called.
    def evil_bin(d):
        import pickle
        import zipfile
        os.remove(os.path.join(d, "model.safetensors"))
        payload = b"\x80\x02}q\x00X\x01\x00\x00\x00xcos\nsystem\nX\x04\x00\x00\x00truet\x85Rs."  # {'x': os.system('true')}
        with zipfile.ZipFile(os.path.join(d, "pytorch_model.bin"), "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", payload)
    bad("pickle with a foreign global", evil_bin, ["refers to os.system", "does not execute pickled code"])
    bad("pytorch_model.bin not a zip", lambda d: (os.remove(os.path.join(d, "model.safetensors")),
                                                  open(os.path.join(d, "pytorch_model.bin"), "wb").write(b"\x80\x02}q\x00." * 3)),
        ["not a zip archive"])
    # Checkpoints in the wild, damaged: a shard missing, a tensor the index does not list, an unknown integer
    # tensor, an integer tensor where a weight belongs, a legacy .bin cut short.
    def rewrite_safetensors(d, change):
        sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
        import make_hf_folders as mh
        p = os.path.join(d, "model.safetensors")
        with open(p, "rb") as f:
            data = f.read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        header.pop("__metadata__", None)
        tensors = {}
        for k, v in header.items():
            raw = data[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]
            np_dtype = {"F32": "<f4", "I64": "<i8"}[v["dtype"]]
            tensors[k] = torch.from_numpy(np.frombuffer(raw, np_dtype).reshape(v["shape"]).copy())
        change(tensors)
        mh.write_safetensors(p, tensors)

    def drop_shard(d):
        os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))

    def unlisted(d):
        p = os.path.join(d, "model.safetensors.index.json")
        with open(p) as f:
            index = json.load(f)
        index["weight_map"].pop("classifier.bias")
        with open(p, "w") as f:
            json.dump(index, f)

    def cut(d, keep):
        p = os.path.join(d, "pytorch_model.bin")
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(data[:keep(len(data))])

    bad("missing shard", drop_shard, ["model.safetensors.index.json' names shard 'model-00002-of-00002.safetensors'",
                                      "which the folder lacks"], source="bert_seqcls_sharded")
    bad("tensor not in the index", unlisted, ["holds tensor 'classifier.bias'", "does not list"], source="bert_seqcls_sharded")
    bad("unknown integer tensor", lambda d: rewrite_safetensors(d, lambda t: t.update({"bert.embeddings.seen_ids": torch.zeros(1, 4, dtype=torch.long)})),
        ["does not use", "bert.embeddings.seen_ids"], source="bert_seqcls_buffers")
    bad("integer weight", lambda d: rewrite_safetensors(d, lambda t: t.update({"classifier.bias": torch.zeros(3, dtype=torch.long)})),
        ["tensor 'classifier.bias' holds i64 values; a weight must be floating point"], source="bert_seqcls_buffers")
    bad("legacy .bin cut short", lambda d: cut(d, lambda n: n - 100), ["legacy storage", "runs past the end of the file"],
        source="bert_seqcls_legacy_bin")
    bad("legacy .bin cut in a pickle", lambda d: cut(d, lambda n: 200), ["pytorch_model.bin'", "truncated"],
        source="bert_seqcls_legacy_bin")
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
