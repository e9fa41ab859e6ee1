"""`kiln serve` over gRPC with grpcio (Debian's python3-grpcio) and stubs generated here by protoc from
Kiln's .proto (src/server/proto/open_inference_grpc.proto): every RPC of the Open Inference Protocol,
typed contents and raw contents, text, the same logits as HTTP, API keys, TLS, and bad requests answered
with a gRPC status while the server keeps serving."""
import importlib
import os
import socket
import struct
import subprocess
import sys

import grpc
import numpy as np
import pytest
import requests

from conftest import ROOT

PROTO_DIR = os.path.join(ROOT, "src", "server", "proto")
TEXTS = ["a gorgeous, witty, seductive movie.", "a dull, lifeless mess."]


@pytest.fixture(scope="module")
def pb(work):
    out = os.path.join(work, "grpc_stubs")
    os.makedirs(out, exist_ok=True)
    subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out", out, os.path.join(PROTO_DIR, "open_inference_grpc.proto")],
                   check=True)
    sys.path.insert(0, out)
    return importlib.import_module("open_inference_grpc_pb2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """The six RPCs, called by their full names, as a generated stub would."""

    def __init__(self, channel, pb, metadata=()):
        self.pb, self.metadata = pb, list(metadata)
        for name, req, res in (("ServerLive", "ServerLiveRequest", "ServerLiveResponse"),
                               ("ServerReady", "ServerReadyRequest", "ServerReadyResponse"),
                               ("ModelReady", "ModelReadyRequest", "ModelReadyResponse"),
                               ("ServerMetadata", "ServerMetadataRequest", "ServerMetadataResponse"),
                               ("ModelMetadata", "ModelMetadataRequest", "ModelMetadataResponse"),
                               ("ModelInfer", "ModelInferRequest", "ModelInferResponse")):
            call = channel.unary_unary("/inference.GRPCInferenceService/" + name,
                                       request_serializer=getattr(pb, req).SerializeToString,
                                       response_deserializer=getattr(pb, res).FromString)
            setattr(self, name, lambda request, call=call: call(request, metadata=self.metadata, timeout=60))


@pytest.fixture(scope="module")
def grpc_server(start, artifacts):
    port = free_port()
    s = start(artifacts["sst2"], artifacts["embedder"], "--grpc-port", str(port), "--max-client-batch", "16", name="grpc")
    s.grpc_port = port
    return s


@pytest.fixture(scope="module")
def client(grpc_server, pb):
    return Client(grpc.insecure_channel("127.0.0.1:%d" % grpc_server.grpc_port), pb)


def token_request(pb, rows, raw=False, datatype="INT64"):
    seq = max(len(r) for r in rows)
    ids = np.array([r + [0] * (seq - len(r)) for r in rows], dtype=np.int64)
    mask = (np.arange(seq)[None, :] < np.array([len(r) for r in rows])[:, None]).astype(np.int64)
    types = np.zeros_like(ids)
    req = pb.ModelInferRequest(model_name="sst2", id="g-1")
    for name, arr in (("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types)):
        t = req.inputs.add(name=name, datatype=datatype, shape=list(arr.shape))
        if raw:
            req.raw_input_contents.append(arr.astype("<i8" if datatype == "INT64" else "<i4").tobytes())
        elif datatype == "INT64":
            t.contents.int64_contents.extend(arr.ravel().tolist())
        else:
            t.contents.int_contents.extend(arr.ravel().tolist())
    return req, ids, mask, types


def test_health_and_metadata(client, pb):
    assert client.ServerLive(pb.ServerLiveRequest()).live
    assert client.ServerReady(pb.ServerReadyRequest()).ready
    meta = client.ServerMetadata(pb.ServerMetadataRequest())
    assert meta.name == "kiln" and meta.version
    assert client.ModelReady(pb.ModelReadyRequest(name="sst2", version="1")).ready
    m = client.ModelMetadata(pb.ModelMetadataRequest(name="sst2"))
    assert m.name == "sst2" and list(m.versions) == ["1"] and m.platform == "kiln"
    assert {t.name: (t.datatype, list(t.shape)) for t in m.inputs}["input_ids"] == ("INT64", [-1, -1])
    assert (m.outputs[0].name, list(m.outputs[0].shape)) == ("logits", [-1, 2])


def test_infer_typed_and_raw_match_http(client, pb, grpc_server):
    rows = [[101, 1037, 2307, 3185, 102], [101, 11771, 102]]
    req, ids, mask, types = token_request(pb, rows)
    typed = client.ModelInfer(req)
    assert typed.model_name == "sst2" and typed.model_version == "1" and typed.id == "g-1"
    out = typed.outputs[0]
    assert out.name == "logits" and out.datatype == "FP32" and list(out.shape) == [2, 2]
    got = np.array(out.contents.fp32_contents, dtype=np.float32).reshape(2, 2)
    http = requests.post(grpc_server.url + "/v2/models/sst2/infer", json={"inputs": [
        {"name": n, "shape": list(a.shape), "datatype": "INT64", "data": a.ravel().tolist()}
        for n, a in (("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types))]}).json()
    np.testing.assert_array_equal(got, np.array(http["outputs"][0]["data"], dtype=np.float32).reshape(2, 2))
    raw_req, *_ = token_request(pb, rows, raw=True, datatype="INT32")
    raw = client.ModelInfer(raw_req)
    assert len(raw.raw_output_contents) == 1 and not raw.outputs[0].HasField("contents")
    np.testing.assert_array_equal(np.frombuffer(raw.raw_output_contents[0], dtype="<f4").reshape(2, 2), got)


def test_infer_text_typed_and_raw(client, pb):
    req = pb.ModelInferRequest(model_name="sst2")
    req.inputs.add(name="text", datatype="BYTES", shape=[2]).contents.bytes_contents.extend([t.encode() for t in TEXTS])
    res = client.ModelInfer(req)
    names = [o.name for o in res.outputs]
    assert names == ["logits", "label", "score"]
    labels = [b.decode() for b in res.outputs[1].contents.bytes_contents]
    assert set(labels) <= {"negative", "positive"} and len(labels) == 2
    raw = pb.ModelInferRequest(model_name="sst2")
    raw.inputs.add(name="text", datatype="BYTES", shape=[2])
    raw.raw_input_contents.append(b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in TEXTS))
    raw.outputs.add(name="label")
    r2 = client.ModelInfer(raw)
    assert [o.name for o in r2.outputs] == ["label"]
    blob, got = r2.raw_output_contents[0], []
    while blob:
        (n,) = struct.unpack("<I", blob[:4])
        got.append(blob[4:4 + n].decode())
        blob = blob[4 + n:]
    assert got == labels


def status_of(fn):
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code(), e.value.details()


def test_bad_requests_get_a_status_and_the_server_keeps_serving(client, pb):
    req, *_ = token_request(pb, [[101, 102]])
    req.model_name = "nope"
    assert status_of(lambda: client.ModelInfer(req))[0] == grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: client.ModelMetadata(pb.ModelMetadataRequest(name="sst2", version="7")))[0] == grpc.StatusCode.NOT_FOUND
    cases = []
    r, *_ = token_request(pb, [[101, 102]])
    r.inputs[0].datatype = "FP32"
    cases.append((r, "datatype FP32"))
    r, *_ = token_request(pb, [[101, 102]])
    r.inputs[0].shape[:] = [1, 3]
    cases.append((r, "needs 3 elements"))
    r, *_ = token_request(pb, [[101, 102]])
    del r.inputs[2]
    cases.append((r, "missing input 'token_type_ids'"))
    r, *_ = token_request(pb, [[101, 102]], raw=True)
    r.raw_input_contents[0] = r.raw_input_contents[0][:-3]
    cases.append((r, "bytes, the shape needs"))
    r, *_ = token_request(pb, [[101, 102]], raw=True)
    r.inputs[0].contents.int64_contents.extend([1, 2])
    cases.append((r, "must not be set"))
    r = pb.ModelInferRequest(model_name="sst2")
    r.inputs.add(name="text", datatype="BYTES", shape=[1]).contents.bytes_contents.append(b"\xff\xfe bad")
    cases.append((r, "UTF-8"))
    r = pb.ModelInferRequest(model_name="sst2")
    r.inputs.add(name="text", datatype="BYTES", shape=[17]).contents.bytes_contents.extend([b"x"] * 17)
    cases.append((r, "limit of 16"))
    r = pb.ModelInferRequest(model_name="sst2")
    r.inputs.add(name="text", datatype="BYTES", shape=[1]).contents.bytes_contents.append(b"word " * 80)
    cases.append((r, "longest sequence"))
    for request, words in cases:
        code, details = status_of(lambda: client.ModelInfer(request))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and words in details, (code, details)
    assert client.ServerLive(pb.ServerLiveRequest()).live


def test_api_key_and_tls(start, artifacts, pb, work):
    cert, key = os.path.join(work, "grpc-cert.pem"), os.path.join(work, "grpc-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    port = free_port()
    start(artifacts["sst2"], "--grpc-port", str(port), "--api-key", "k", "--tls-cert", cert, "--tls-key", key,
          name="grpc-tls", scheme="https")
    creds = grpc.ssl_channel_credentials(root_certificates=open(cert, "rb").read())
    channel = grpc.secure_channel("localhost:%d" % port, creds)
    req, *_ = token_request(pb, [[101, 102]])
    anonymous = Client(channel, pb)
    assert anonymous.ServerLive(pb.ServerLiveRequest()).live  # health needs no key
    assert status_of(lambda: anonymous.ModelInfer(req))[0] == grpc.StatusCode.UNAUTHENTICATED
    assert status_of(lambda: Client(channel, pb, [("authorization", "Bearer nope")]).ModelInfer(req))[0] == grpc.StatusCode.UNAUTHENTICATED
    ok = Client(channel, pb, [("authorization", "Bearer k")]).ModelInfer(req)
    assert ok.outputs[0].name == "logits"
    with pytest.raises(grpc.RpcError):  # plaintext against the TLS port
        Client(grpc.insecure_channel("127.0.0.1:%d" % port), pb).ServerLive(pb.ServerLiveRequest())
