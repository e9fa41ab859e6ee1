"""`kiln serve` operations: model repositories with versions, API keys, TLS, the bounded queue (503 with
Retry-After), the request timeout (504), graceful shutdown with requests in flight, start-up errors."""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import requests

from conftest import Server, alive

BODY = {"inputs": [{"name": "text", "shape": [4], "datatype": "BYTES", "data": ["a fine film"] * 4}]}


def post(url, body, **kw):
    return requests.post(url, json=body, timeout=60, **kw)


def test_model_repository_with_versions(start, artifacts, work):
    repo = os.path.join(work, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    for name, version, art in (("sentiment", "1", "sst2"), ("sentiment", "2", "sst2"), ("sentiment", "10", "sst2"),
                               ("vectors", "3", "embedder")):
        os.makedirs(os.path.join(repo, name, version))
        shutil.copy(artifacts[art], os.path.join(repo, name, version, "model.kiln"))
    s = start("--model-repository", repo, name="repo")
    meta = requests.get(s.url + "/v2/models/sentiment").json()
    assert meta["versions"] == ["1", "2", "10"]
    latest = post(s.url + "/v2/models/sentiment/infer", BODY).json()
    assert latest["model_version"] == "10"  # numerically highest
    assert post(s.url + "/v2/models/sentiment/versions/2/infer", BODY).json()["model_version"] == "2"
    assert post(s.url + "/v2/models/sentiment/versions/4/infer", BODY).status_code == 404
    assert requests.get(s.url + "/v2/models/vectors/versions/3/ready").json()["ready"] is True
    metrics = requests.get(s.url + "/metrics").text
    assert 'kiln_request_success_total{model="sentiment",version="10"} 1' in metrics


def test_api_key(start, artifacts):
    s = start(artifacts["sst2"], "--api-key", "s3cret", name="apikey")
    r = post(s.url + "/v2/models/sst2/infer", BODY)
    assert r.status_code == 401 and "API key" in r.json()["error"] and r.headers["WWW-Authenticate"] == "Bearer"
    assert post(s.url + "/v2/models/sst2/infer", BODY, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests.get(s.url + "/v2/models/sst2").status_code == 401
    assert post(s.url + "/v2/models/sst2/infer", BODY, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert alive(s.url) and requests.get(s.url + "/v2/health/ready").status_code == 200  # probes stay open
    assert requests.get(s.url + "/metrics").status_code == 200


def test_tls_with_a_self_signed_certificate(start, artifacts, work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    s = start(artifacts["sst2"], "--tls-cert", cert, "--tls-key", key, name="tls", scheme="https")
    r = post(s.url + "/v2/models/sst2/infer", BODY, verify=cert)
    assert r.status_code == 200 and r.json()["outputs"][1]["name"] == "label"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(s.url + "/v2/health/live", timeout=10)  # not trusted without the certificate
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(s.url.replace("https", "http") + "/v2/health/live", timeout=10)


def test_full_queue_answers_503_with_retry_after(start, artifacts):
    s = start(artifacts["sst2"], "--max-queue", "1", "--max-batch", "1", name="queue")
    big = {"inputs": [{"name": "text", "shape": [16], "datatype": "BYTES", "data": ["a long and winding review " * 4] * 16}]}
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        responses = list(pool.map(lambda _: post(s.url + "/v2/models/sst2/infer", big), range(48)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["Retry-After"] == "1" and "busy" in busy.json()["error"]
    assert alive(s.url) and post(s.url + "/v2/models/sst2/infer", BODY).status_code == 200


def test_request_timeout_answers_504(start, artifacts):
    s = start(artifacts["sst2"], "--request-timeout-ms", "1", "--max-batch", "1", name="timeout")
    big = {"inputs": [{"name": "text", "shape": [64], "datatype": "BYTES", "data": ["a long and winding review " * 4] * 64}]}
    r = post(s.url + "/v2/models/sst2/infer", big)
    assert r.status_code == 504 and "request timeout of 1 ms" in r.json()["error"]
    assert alive(s.url)


def metric(text, name):
    """The value of an unlabelled-or-single-model series `name{...} value` in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no series %s in /metrics" % name)


def test_graceful_shutdown_finishes_requests_in_flight(start, artifacts):
    s = start(artifacts["sst2"], "--max-batch", "1", name="shutdown")
    big = {"inputs": [{"name": "text", "shape": [48], "datatype": "BYTES", "data": ["a long and winding review " * 4] * 48}]}
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(post, s.url + "/v2/models/sst2/infer", big) for _ in range(6)]
        # Wait until all six reached the Engine (accepted, decoded, submitted): a connection still in the
        # listen backlog when the listener closes is reset by the kernel, which no server can finish. A
        # fixed sleep raced with slow builds (ASan).
        deadline = time.time() + 120
        while time.time() < deadline:
            m = requests.get(s.url + "/metrics", timeout=30).text
            if metric(m, "kiln_requests_in_flight") + metric(m, "kiln_request_success_total") >= 6:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the six requests never all reached the engine")
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        # Not ready at once, and no new connections.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(s.url + "/v2/health/live", timeout=5)
        results = [f.result() for f in futures]
    assert [r.status_code for r in results] == [200] * 6  # none lost, none cut
    assert all(len(r.json()["outputs"][0]["data"]) == 96 for r in results)
    assert s.proc.wait(60) == 0
    assert "SIGTERM" in s.text() and "stopped" in s.text()


def one_line_error(kiln, args):
    r = subprocess.run([kiln, "serve"] + args, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiln: error: "), r.stderr
    return lines[0]


def test_startup_errors_are_one_line(kiln, start, artifacts, work):
    s = start(artifacts["sst2"], name="port-taken")
    assert "cannot listen on 127.0.0.1:%d" % s.port in one_line_error(kiln, [artifacts["sst2"], "--http-port", str(s.port)])
    bad = os.path.join(work, "bad.kiln")
    with open(bad, "wb") as f:
        f.write(b"not an artifact at all")
    assert "bad.kiln" in one_line_error(kiln, [bad])
    assert "--instances must be >= 1" in one_line_error(kiln, [artifacts["sst2"], "--instances", "0"])
    assert "not neither" in one_line_error(kiln, [])
    empty_version = os.path.join(work, "bad-repo", "m", "1")
    os.makedirs(empty_version, exist_ok=True)
    assert "has no model.kiln" in one_line_error(kiln, ["--model-repository", os.path.dirname(os.path.dirname(empty_version))])
    assert "is not a folder" in one_line_error(kiln, ["--model-repository", os.path.join(work, "nowhere")])
    cfg = os.path.join(work, "bad-config.json")
    with open(cfg, "w") as f:
        json.dump({"instancez": 2}, f)
    assert "unknown option 'instancez'" in one_line_error(kiln, [artifacts["sst2"], "--config", cfg])


def test_config_file_sets_options_and_flags_win(start, artifacts, work):
    cfg = os.path.join(work, "serve-config.json")
    with open(cfg, "w") as f:
        json.dump({"max_client_batch": 2, "api_key": "from-config"}, f)
    s = start(artifacts["sst2"], "--config", cfg, "--api-key", "from-flag", name="config")
    h = {"Authorization": "Bearer from-flag"}
    assert post(s.url + "/v2/models/sst2/infer", BODY, headers=h).json()["error"].endswith("limit of 2 per request")


def test_kiln_top_shows_the_traffic(kiln, start, artifacts):
    s = start(artifacts["sst2"], name="top")
    stop = time.time() + 4
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        load = pool.submit(lambda: [post(s.url + "/v2/models/sst2/infer", BODY) for _ in range(400) if time.time() < stop])
        out = subprocess.run([kiln, "top", "--url", s.url, "--once", "--interval-s", "1.5"], capture_output=True, text=True, timeout=60)
        load.result()
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("kiln top  " + s.url) and "RSS" in lines[0]
    row = next(l for l in lines if l.startswith("sst2/1")).split()
    assert float(row[1]) > 0 and row[3] != "-"  # requests/s, p50
    bad = subprocess.run([kiln, "top", "--url", "http://127.0.0.1:1", "--once"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.startswith("kiln: error: GET http://127.0.0.1:1/metrics")


def test_kiln_tune_writes_a_config_serve_reads(kiln, start, artifacts, work):
    cfg = os.path.join(work, "tuned.json")
    r = subprocess.run([kiln, "tune", artifacts["sst2"], "--p99-ms", "2000", "--concurrency", "4", "--seconds", "0.5",
                        "--delays", "0,2000", "--instances", "1", "--pipeline", "1", "-o", cfg],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    config = json.load(open(cfg))
    assert set(config) == {"instances", "pipeline", "max_batch", "max_batch_delay_us"} and config["max_batch_delay_us"] in (0, 2000)
    assert config["max_batch"] == 4  # the compiled batch the sweep merged up to
    assert "best under p99 2000.0 ms" in r.stdout
    s = start(artifacts["sst2"], "--config", cfg, name="tuned")
    assert post(s.url + "/v2/models/sst2/infer", BODY).status_code == 200
    impossible = subprocess.run([kiln, "tune", artifacts["sst2"], "--p99-ms", "0.001", "--concurrency", "2", "--seconds", "0.3",
                                 "--delays", "0", "--instances", "1", "--pipeline", "1", "-o", cfg + ".x"],
                                capture_output=True, text=True, timeout=300)
    assert impossible.returncode != 0 and "no configuration keeps p99 within 0.001 ms" in impossible.stderr
    assert not os.path.exists(cfg + ".x")
