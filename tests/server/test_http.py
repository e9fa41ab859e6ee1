"""`kiln serve` over HTTP with a real client (Python requests; curl for a few): every route of the Open
Inference Protocol and the TEI-compatible text routes, the answers against `kiln run`, batching seen in
/metrics, several models and versions, API keys, TLS, graceful shutdown, and every bad request of
docs/serve.md answered with a 4xx JSON error while the server keeps serving."""
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
import requests

from conftest import VOCAB, alive

TEXTS = ["a gorgeous, witty, seductive movie.", "a dull, lifeless mess.", "the best film of the year"]


def post(url, body, **kw):
    return requests.post(url, data=json.dumps(body) if not isinstance(body, (bytes, str)) else body,
                         headers={"Content-Type": "application/json"}, timeout=60, **kw)


def kiln_run_text(kiln, artifact, text, pair=None):
    cmd = [kiln, "run", artifact, "--text", text, "--json"] + (["--text-pair", pair] if pair else [])
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def kiln_tokenize(kiln, text):
    out = subprocess.run([kiln, "tokenize", "--vocab", VOCAB, "--text", text, "--json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["ids"]


# ---- Open Inference Protocol ------------------------------------------------------------------------

def test_health_and_server_metadata(server):
    assert requests.get(server.url + "/v2/health/live").json() == {"live": True}
    r = requests.get(server.url + "/v2/health/ready")
    assert r.status_code == 200 and r.json() == {"ready": True}
    meta = requests.get(server.url + "/v2").json()
    assert meta["name"] == "kiln" and meta["version"] and meta["extensions"] == []


def test_model_metadata_marks_what_may_vary(server):
    m = requests.get(server.url + "/v2/models/sst2").json()
    assert m["name"] == "sst2" and m["versions"] == ["1"] and m["platform"] == "kiln"
    ins = {t["name"]: t for t in m["inputs"]}
    assert set(ins) == {"input_ids", "attention_mask", "token_type_ids"}
    assert ins["input_ids"]["datatype"] == "INT64" and ins["input_ids"]["shape"] == [-1, -1]
    assert m["outputs"][0]["shape"] == [-1, 2] and m["outputs"][0]["datatype"] == "FP32"
    assert m["parameters"]["labels"] == ["negative", "positive"]
    assert requests.get(server.url + "/v2/models/sst2/versions/1").json() == m
    assert requests.get(server.url + "/v2/models/sst2/ready").json()["ready"] is True
    assert requests.get(server.url + "/v2/models/sst2/versions/1/ready").status_code == 200


def tensor_request(ids_rows, datatype="INT64", nested=True, extra=None):
    seq = max(len(r) for r in ids_rows)
    ids = [r + [0] * (seq - len(r)) for r in ids_rows]
    mask = [[1] * len(r) + [0] * (seq - len(r)) for r in ids_rows]
    types = [[0] * seq for _ in ids_rows]
    flat = (lambda x: x) if nested else (lambda x: [v for row in x for v in row])
    body = {"id": "req-7", "inputs": [
        {"name": "input_ids", "shape": [len(ids), seq], "datatype": datatype, "data": flat(ids)},
        {"name": "attention_mask", "shape": [len(ids), seq], "datatype": datatype, "data": flat(mask)},
        {"name": "token_type_ids", "shape": [len(ids), seq], "datatype": datatype, "data": flat(types)}]}
    body.update(extra or {})
    return body, ids, mask, types


def test_infer_tensors_match_kiln_run(server, kiln, artifacts, work):
    rows = [kiln_tokenize(kiln, t) for t in TEXTS]
    body, ids, mask, types = tensor_request(rows)
    r = post(server.url + "/v2/models/sst2/infer", body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "sst2" and out["model_version"] == "1" and out["id"] == "req-7"
    (logits,) = out["outputs"]
    assert logits["name"] == "logits" and logits["datatype"] == "FP32" and logits["shape"] == [3, 2]
    # The same inputs through `kiln run` (.npy in, .npy out).
    d = os.path.join(work, "run_inputs")
    os.makedirs(d, exist_ok=True)
    for name, arr in (("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types)):
        np.save(os.path.join(d, name + ".npy"), np.array(arr, dtype=np.int64))
    outdir = os.path.join(work, "run_outputs")
    subprocess.run([kiln, "run", artifacts["sst2"], "--output-dir", outdir] +
                   sum([["--input", "%s=%s" % (n, os.path.join(d, n + ".npy"))] for n in ("input_ids", "attention_mask", "token_type_ids")], []),
                   check=True, stdout=subprocess.DEVNULL)
    want = np.load(os.path.join(outdir, "logits.npy"))
    got = np.array(logits["data"], dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(got, want)  # the same engine, the same bytes
    # Flat data, INT32, and a requested output give the same numbers.
    body32, *_ = tensor_request(rows, datatype="INT32", nested=False, extra={"outputs": [{"name": "logits"}]})
    r32 = post(server.url + "/v2/models/sst2/versions/1/infer", body32).json()
    np.testing.assert_array_equal(np.array(r32["outputs"][0]["data"], dtype=np.float32).reshape(3, 2), want)


def test_infer_text_adds_label_and_score(server, kiln, artifacts):
    body = {"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": TEXTS}]}
    r = post(server.url + "/v2/models/sst2/infer", body)
    assert r.status_code == 200, r.text
    outs = {o["name"]: o for o in r.json()["outputs"]}
    assert set(outs) == {"logits", "label", "score"}
    assert outs["label"]["datatype"] == "BYTES" and outs["label"]["shape"] == [3]
    for i, text in enumerate(TEXTS):
        want = kiln_run_text(kiln, artifacts["sst2"], text)
        assert outs["label"]["data"][i] == want["label"]
        assert abs(outs["score"]["data"][i] - want["scores"][0]["score"]) < 1e-5
    # The embedder returns its output only.
    e = post(server.url + "/v2/models/embedder/infer", body).json()
    assert [o["name"] for o in e["outputs"]] == ["logits"]


def test_infer_text_pair(server, kiln, artifacts):
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a cat sat"]},
                       {"name": "text_pair", "shape": [1], "datatype": "BYTES", "data": ["the cat was sitting"]}]}
    out = {o["name"]: o for o in post(server.url + "/v2/models/pair/infer", body).json()["outputs"]}
    want = kiln_run_text(kiln, artifacts["pair"], "a cat sat", "the cat was sitting")
    assert out["label"]["data"] == [want["label"]]


# ---- TEI-compatible routes ------------------------------------------------------------------------

def test_predict(server, kiln, artifacts):
    one = post(server.url + "/predict", {"inputs": TEXTS[0], "model": "sst2"}).json()
    want = kiln_run_text(kiln, artifacts["sst2"], TEXTS[0])
    assert [x["label"] for x in one] == [s["label"] for s in want["scores"]]
    assert abs(one[0]["score"] - want["scores"][0]["score"]) < 1e-6
    batch = post(server.url + "/models/sst2/predict", {"inputs": [[t] for t in TEXTS]}).json()
    assert len(batch) == 3 and batch[0] == one
    raw = post(server.url + "/models/sst2/predict", {"inputs": TEXTS[0], "raw_scores": True}).json()
    assert raw[0]["label"] == one[0]["label"] and raw[0]["score"] != one[0]["score"]
    # TEI's pair form: a two-string list is one pair, for a pair model.
    pair = post(server.url + "/models/pair/predict", {"inputs": ["a cat sat", "the cat was sitting"]}).json()
    assert pair[0]["label"] == kiln_run_text(kiln, artifacts["pair"], "a cat sat", "the cat was sitting")["label"]


def test_embed_and_openai_embeddings(server, kiln, artifacts):
    e = post(server.url + "/embed", {"inputs": TEXTS, "model": "embedder", "normalize": False}).json()
    for text, vec in zip(TEXTS, e):
        np.testing.assert_allclose(vec, kiln_run_text(kiln, artifacts["embedder"], text)["embedding"], rtol=1e-6)
    n = post(server.url + "/models/embedder/embed", {"inputs": TEXTS[0]}).json()  # normalize defaults to true
    assert len(n) == 1 and abs(np.linalg.norm(n[0]) - 1) < 1e-5
    o = post(server.url + "/v1/embeddings", {"input": TEXTS, "model": "embedder"}).json()
    assert o["object"] == "list" and o["model"] == "embedder" and len(o["data"]) == 3
    assert [d["index"] for d in o["data"]] == [0, 1, 2] and o["data"][0]["object"] == "embedding"
    np.testing.assert_allclose(o["data"][0]["embedding"], n[0], rtol=1e-6)
    tokens = sum(len(kiln_tokenize(kiln, t)) for t in TEXTS)
    assert o["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    b = post(server.url + "/v1/embeddings", {"input": TEXTS[0], "model": "embedder", "encoding_format": "base64"}).json()
    import base64
    np.testing.assert_allclose(np.frombuffer(base64.b64decode(b["data"][0]["embedding"]), dtype="<f4"), n[0], rtol=1e-6)


def test_rerank_tokenize_info(server, kiln):
    docs = ["the cat was sitting", "stock prices fell", "a cat sat"]
    r = post(server.url + "/rerank", {"model": "pair", "query": "a cat sat", "texts": docs, "return_text": True}).json()
    assert sorted(x["index"] for x in r) == [0, 1, 2]
    assert [x["score"] for x in r] == sorted((x["score"] for x in r), reverse=True)
    assert all(x["text"] == docs[x["index"]] for x in r)
    t = post(server.url + "/models/sst2/tokenize", {"inputs": "Hello, world!"}).json()
    assert [x["id"] for x in t[0]] == kiln_tokenize(kiln, "Hello, world!")
    assert t[0][0]["special"] and t[0][0]["text"] == "[CLS]"
    bare = post(server.url + "/models/sst2/tokenize", {"inputs": ["Hello"], "add_special_tokens": False}).json()
    assert [x["text"] for x in bare[0]] == ["hello"]
    info = requests.get(server.url + "/models/sst2/info").json()
    assert info["model_id"] == "sst2" and info["max_input_length"] == 64
    assert info["model_type"]["classifier"]["id2label"] == {"0": "negative", "1": "positive"}
    assert "embedding" in requests.get(server.url + "/models/embedder/info").json()["model_type"]


# ---- Operations ------------------------------------------------------------------------------------

def metric(text, name, model="sst2"):
    for line in text.splitlines():
        if line.startswith(name + "{") and 'model="%s"' % model in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s for %s in /metrics" % (name, model))


def test_dynamic_batching_seen_in_metrics(server, kiln):
    before = requests.get(server.url + "/metrics").text
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [TEXTS[0]]}]}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: post(server.url + "/v2/models/sst2/infer", body).status_code, range(64)))
    assert codes == [200] * 64
    after = requests.get(server.url + "/metrics").text
    rows = metric(after, "kiln_inference_count_total") - metric(before, "kiln_inference_count_total")
    calls = metric(after, "kiln_execution_count_total") - metric(before, "kiln_execution_count_total")
    ok = metric(after, "kiln_request_success_total") - metric(before, "kiln_request_success_total")
    assert rows == 64 and ok == 64
    assert calls < 64, "no request was batched with another (%d calls for 64 requests)" % calls
    assert "# TYPE kiln_batch_size histogram" in after and 'kiln_batch_size_bucket{model="sst2",version="1",le="+Inf"}' in after
    assert "process_resident_memory_bytes" in after and "kiln_queue_duration_seconds_sum" in after


# ---- Bad requests: 4xx JSON, and the server keeps serving ----------------------------------------------

BAD_INFER = [
    ("invalid JSON", b'{"inputs": [', 400, "invalid JSON"),
    ("number beyond a double", b'{"inputs": 1e999999}', 400, "number overflow"),
    ("invalid UTF-8", b'{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["\xff\xfe"]}]}', 400, "UTF-8"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
    ("wrong datatype", {"inputs": [{"name": "input_ids", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}, 400, "datatype FP32"),
    ("shape vs data", {"inputs": [{"name": "input_ids", "shape": [1, 3], "datatype": "INT64", "data": [1, 2]}]}, 400, "needs 3 elements"),
    ("unknown input", {"inputs": [{"name": "pixels", "shape": [1], "datatype": "FP32", "data": [1]}]}, 400, "unknown input 'pixels'"),
    ("missing input", {"inputs": [{"name": "input_ids", "shape": [1, 2], "datatype": "INT64", "data": [101, 102]}]}, 400, "missing input"),
    ("fraction for INT64", {"inputs": [{"name": "input_ids", "shape": [1], "datatype": "INT64", "data": [1.5]}]}, 400, "not an integer"),
    ("rows over the limit", {"inputs": [{"name": "text", "shape": [17], "datatype": "BYTES", "data": ["x"] * 17}]}, 400, "limit of 16"),
    ("text too long", {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["word " * 80]}]}, 400, "longest sequence of 64"),
    ("token id out of the vocabulary", None, 400, "out of range"),
]


@pytest.mark.parametrize("case", BAD_INFER, ids=[c[0] for c in BAD_INFER])
def test_bad_infer_requests(server, case):
    name, body, status, words = case
    if body is None:  # ids beyond the embedding table
        body, *_ = tensor_request([[101, 999999, 102]])
    r = post(server.url + "/v2/models/sst2/infer", body)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert words in r.json()["error"], r.json()
    assert alive(server.url)


def test_long_text_is_cut_with_truncate(server):
    body = {"parameters": {"truncate": True},
            "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["word " * 80]}]}
    assert post(server.url + "/v2/models/sst2/infer", body).status_code == 200
    assert post(server.url + "/models/sst2/predict", {"inputs": "word " * 80, "truncate": True}).status_code == 200
    assert post(server.url + "/models/sst2/predict", {"inputs": "word " * 80}).status_code == 400


def test_unknown_models_routes_and_methods(server):
    r = requests.get(server.url + "/v2/models/nope")
    assert r.status_code == 404 and "unknown model 'nope'" in r.json()["error"]
    r = post(server.url + "/v2/models/sst2/versions/9/infer", {"inputs": []})
    assert r.status_code == 404 and "no version '9'" in r.json()["error"]
    assert requests.get(server.url + "/nowhere").status_code == 404
    assert requests.get(server.url + "/v2/models/sst2/infer").status_code == 405
    r = post(server.url + "/predict", {"inputs": "x"})  # three models: which one?
    assert r.status_code == 400 and "several models" in r.json()["error"]
    assert post(server.url + "/models/embedder/predict", {"inputs": "x"}).status_code == 424
    assert post(server.url + "/models/sst2/embed", {"inputs": "x"}).status_code == 424
    assert alive(server.url)


def test_body_over_the_limit_is_413(server):
    big = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x" * 300000]}]}
    r = post(server.url + "/v2/models/sst2/infer", big)
    assert r.status_code == 413 and "larger than the limit" in r.json()["error"]
    assert alive(server.url)


def test_half_sent_request_times_out_without_holding_the_server(server):
    port = server.port
    socks = []
    for _ in range(4):  # several slow clients at once
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v2/models/sst2/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inputs\":")
        socks.append(s)
    t0 = time.time()
    assert alive(server.url)  # served while they hang
    for s in socks:
        s.settimeout(10)
        data = s.recv(4096)  # the server gives up on them (--read-timeout-ms 1500): closed, maybe after an error
        assert data == b"" or data.startswith(b"HTTP/1.1 4")
        s.close()
    assert time.time() - t0 < 9
    assert alive(server.url)


def test_curl_clients(server):
    out = subprocess.run(["curl", "-s", "-X", "POST", server.url + "/models/sst2/predict", "-H", "Content-Type: application/json",
                          "-d", json.dumps({"inputs": TEXTS[0]})], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)[0]["label"] in ("negative", "positive")
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", server.url + "/v2/health/ready"],
                          capture_output=True, text=True, check=True).stdout
    assert code == "200"
