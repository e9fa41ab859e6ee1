#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), small valid inputs each
parser accepts, from which libFuzzer mutates. The outputs are committed; rerun after a format change:

    /usr/bin/python3 tests/fuzz/make_seeds.py --kiln build/kiln

Needs numpy, onnx and torch (Debian's python3-numpy, python3-onnx, python3-torch) and a built kiln (for
the .kiln seeds, compiled from the tiny ONNX seed).
"""

import argparse
import io
import json
import os
import struct
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!", "un", "##aff", "##able", "東", "a", "##b"]


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tiny_onnx(opset=13):
    """ids [batch, seq] -> embedding Gather -> MatMul -> Add -> Softmax, with Constant nodes in every form."""
    rng = np.random.default_rng(0)
    emb = numpy_helper.from_array(rng.standard_normal((len(VOCAB), 4)).astype(np.float32), "emb")
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["x"], axis=0, name="gather"),
        helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
        helper.make_node("Constant", [], ["b"], value=numpy_helper.from_array(np.ones(3, np.float32)), name="c_tensor"),
        helper.make_node("Constant", [], ["s"], value_float=0.5, name="c_float"),
        helper.make_node("Constant", [], ["axes"], value_ints=[-1], name="c_ints"),
        helper.make_node("Add", ["h", "b"], ["hb"], name="add"),
        helper.make_node("Mul", ["hb", "s"], ["hs"], name="mul"),
        helper.make_node("ReduceSum", ["hs", "axes"], ["r"], keepdims=1, name="reduce"),
        helper.make_node("Softmax", ["r"], ["logits"], axis=-1, name="softmax"),
    ]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)], [emb, w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="kiln-fuzz-seeds")
    m.ir_version = 8
    return m


def safetensors_bytes(tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes() if dtype != "BF16" else (arr.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


# IR text (src/ir/text_format.h): the forms pass tests write and the printer's canonical output.
IR_TEXT_SEEDS = {
    "full.txt": """graph tiny(%x: f32[batch,4], %m: bool[?,4]) {
  const %w: f32[4] = [0.5, -1, 0.001, 3.1415927]
  const %idx: i64[2] = [-1, 7]
  const %flag: bool[2] = [true, false]
  const %big: i32[3,3] = fill(0)
  %y: f32[batch,4] = Add(%x, %w)
  %o1: f32[], %o2: f32[] = com.microsoft::Custom<axis=-1, epsilon=1e-05, mode="tanh", perm=[0,2,1], scales=[0.5,2.0], value=i64[1] [3]>(%y, _, %idx, %flag, %big, %m)
  return %o1, %o2
}
""",
    "ffn.txt": """# a test's before graph: weights as random(seed), comments, statements over lines
graph main(%x: f32[2,3,8]) {
  const %W: f32[8,16] = random(1)
  const %b: f32[16] = random(2)
  %mm: f32[2,3,16] = MatMul(%x, %W)
  %a: f32[2,3,16] = Add(%mm, %b)
  %h: f32[2,3,16] = Gelu(%a)
  const %W2: bf16[16,8] = random(3)
  const %q: i8[4] = [-128, 0, 5, 127]
  const %z: f16[2,2] = fill(-0.5)
  %y: f32[2,3,8] = FusedMatMul<activation="none", out_dtype="f32",
                               weight_dims=[16,8]>(%h, %W2, _, %x) @y/fused_matmul
  return %y
}
""",
    "quoted.txt": """graph "my graph"(%"input ids": i64["batch size",sequence]) {
  const %onnx::MatMul_337: f32[1] = [2]
  %/bert/embeddings/Cast_output_0: f32[] = Cast<to="f32\\n\\"x\\"\\\\\\x01">(%"input ids")
  %"ends:": f32[] = Mul(%/bert/embeddings/Cast_output_0, %onnx::MatMul_337)
  %1.0: f32[] = "my domain"::"a::b"(%"ends:") @"@ node \u4e00"
  %"x:::y": f32[], %"": f32[] = ai.onnx::ml::Op<none=floats[], "weird key"=1, nums=[-inf, nan, 1e-45]>(%1.0)
  return %"x:::y", %""
}
""",
    "attention.txt": """graph main(%q: f32[2,4,4], %k: f32[2,4,4], %v: f32[2,4,4], %keep: bool[2,1,1,4]) {
  const %out/attention/mask_bias.fill: f32[] = [-3.4028235e+38]
  const %out/attention/mask_bias.zero: f32[] = [0]
  %out/attention/mask_bias_output: f32[2,1,1,4] = Where(%keep, %out/attention/mask_bias.fill, %out/attention/mask_bias.zero) @out/attention/mask_bias
  %out: f32[2,4,4] = MultiHeadAttention<num_heads=2, scale=0.70710677>(%q, %k, %v, %out/attention/mask_bias_output) @out/attention
  return %out
}
""",
}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default="build/kiln")
    args = p.parse_args()

    # onnx
    m = tiny_onnx()
    out("onnx", "tiny.onnx", m.SerializeToString())
    old = tiny_onnx(opset=11)
    out("onnx", "tiny_opset11.onnx", old.SerializeToString())

    # artifact (with a VOCAB section), compiled from the tiny model
    with tempfile.TemporaryDirectory() as tmp:
        mp, vp = os.path.join(tmp, "tiny.onnx"), os.path.join(tmp, "vocab.txt")
        onnx.save(m, mp)
        with open(vp, "w") as f:
            f.write("\n".join(VOCAB) + "\n")
        for name, extra in [("tiny.kiln", []), ("tiny_vocab_buckets.kiln", ["--vocab", vp, "--seq", "4,8"])]:
            ap = os.path.join(tmp, name)
            argv = [args.kiln, "compile", mp, "-o", ap, "--batch", "2"] + (extra if extra else ["--seq", "4"])
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            with open(ap, "rb") as f:
                out("artifact", name, f.read())

    # npy
    for name, arr, ver in [("ids_i64.npy", np.arange(6, dtype=np.int64).reshape(2, 3), (1, 0)),
                           ("f32_scalar.npy", np.float32(1.5), (1, 0)), ("mask_bool.npy", np.array([True, False]), (1, 0)),
                           ("i32_v2.npy", np.zeros((1, 4), np.int32), (2, 0)), ("empty_f64.npy", np.zeros((0, 3)), (1, 0))]:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(arr), version=ver)
        out("npy", name, buf.getvalue())

    # safetensors
    out("safetensors", "three_dtypes.safetensors", safetensors_bytes({
        "emb.weight": ("F32", np.arange(6, dtype=np.float32).reshape(2, 3)),
        "half": ("F16", np.array([1.0, -2.0], np.float16)), "bf": ("BF16", np.array([0.5, 3.0], np.float32))}))
    out("safetensors", "buffers.safetensors", safetensors_bytes({
        "w": ("F32", np.ones(2, np.float32)), "position_ids": ("I64", np.arange(4, dtype=np.int64).reshape(1, 4)),
        "mask": ("BOOL", np.array([1, 0], np.uint8)), "d": ("F64", np.array([0.25], np.float64))}))

    # pytorch_model.bin (torch.save's zip + pickle): contiguous, a transposed view, a parameter, half
    sd = {"a.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "a.t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t(),
          "p": torch.nn.Parameter(torch.ones(2)), "h": torch.ones(3, dtype=torch.float16), "n": 7}
    buf = io.BytesIO()
    torch.save(sd, buf)
    out("torch_pickle", "state_dict.bin", buf.getvalue())
    # The legacy (non-zip) format, with an expanded int64 buffer, as older transformers checkpoints hold.
    sd_legacy = dict(sd, pos=torch.arange(5).expand((1, -1)), flags=torch.tensor([True, False]))
    buf = io.BytesIO()
    torch.save(sd_legacy, buf, _use_new_zipfile_serialization=False)
    out("torch_pickle", "legacy_state_dict.bin", buf.getvalue())

    # vocab.txt
    out("vocab", "vocab.txt", "\n".join(VOCAB) + "\n")
    out("vocab", "crlf.txt", "\r\n".join(VOCAB) + "\r\n")

    # tokenizer.json
    tok = {"version": "1.0", "normalizer": {"type": "BertNormalizer", "lowercase": False},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(VOCAB)}}}
    out("tokenizer_json", "tokenizer.json", json.dumps(tok))

    # wordpiece text: line 1 is text a, the rest text b
    for i, text in enumerate(["Hello, world!", "unaffable CAFÉ 東京 co-operate\nthe pair sentence",
                              "Ã©\u00e9\u0301 \t\u3000x\u200b!?", "a" * 120 + " ab ##b [UNK]"]):
        out("wordpiece", "text%d.txt" % i, text)

    # calibration JSON Lines (inputs input_ids, attention_mask, 8 values per row)
    out("calibration", "two_rows.jsonl", json.dumps({"input_ids": list(range(101, 109)), "attention_mask": [1] * 8}) + "\n\n" +
        json.dumps({"attention_mask": [[1, 1, 1, 1], [0, 0, 0, 0]], "input_ids": [[1, 2, 3, 4], [0, 0, 0, 0]]}) + "\n")

    # labelled TSV (kiln eval --data): SST-2 style with a header, MRPC style pairs without one
    out("labeled_tsv", "sst2.tsv", "sentence\tlabel\r\nit 's a charming journey \t1\n\nunfunny\t0\n")
    out("labeled_tsv", "pairs.tsv", "1\tthe cat sat\ta cat was sitting\n0\tyes\tno\n")
    # IR text
    for name, text in IR_TEXT_SEEDS.items():
        out("ir_text", name, text)

    # Server request bodies: Open Inference Protocol inference (tensors, text) and TEI routes
    seeds = {
        "infer_tensors.json": {"id": "1", "inputs": [
            {"name": "input_ids", "shape": [1, 3], "datatype": "INT64", "data": [[101, 7, 102]]},
            {"name": "attention_mask", "shape": [1, 3], "datatype": "INT32", "data": [1, 1, 1]},
            {"name": "scale", "shape": [1], "datatype": "FP32", "data": [0.5]}], "outputs": [{"name": "logits"}]},
        "infer_text.json": {"parameters": {"truncate": True}, "inputs": [
            {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a fine film", "dull"]},
            {"name": "text_pair", "shape": [2], "datatype": "BYTES", "data": ["x", "y"]}]},
        "predict.json": {"inputs": ["a b", ["c"], ["d", "e"]], "raw_scores": True, "truncate": False, "model": "m",
                         "normalize": True},
        "rerank.json": {"query": "q", "texts": ["a", "b"], "return_text": True},
        "openai.json": {"input": ["a", "b"], "model": "m", "encoding_format": "base64"},
    }
    for name, body in seeds.items():
        out("http_request", name, json.dumps(body, separators=(",", ":")))

    # Prometheus text (what kiln top reads from /metrics)
    out("prometheus_text", "metrics.txt",
        "# HELP kiln_request_success_total Requests.\n# TYPE kiln_request_success_total counter\n"
        "kiln_request_success_total{model=\"m\",version=\"1\"} 12\n"
        "kiln_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"0.005\"} 3\n"
        "kiln_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"+Inf\"} 12\n"
        "process_resident_memory_bytes 1.2e+08\nx{a=\"q\\\"\\\\\\n\"} NaN 1700000000\n")


if __name__ == "__main__":
    main()
