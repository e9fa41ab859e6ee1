"""Fixtures for the `kiln serve` tests: compiled artifacts (the trained SST-2 model as a classifier, an
embedder and a pair classifier) and a helper that starts a server on a free loopback port and stops it.

Run by CTest (server.http): python3 -m pytest tests/server --kiln build/kiln --work DIR
"""
import os
import re
import signal
import subprocess
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCAB = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")
SST2 = os.path.join(ROOT, "models", "sst2_tiny", "model.onnx")


def pytest_addoption(parser):
    parser.addoption("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    parser.addoption("--work", default=os.path.join(ROOT, "build", "server_tests"))


@pytest.fixture(scope="session")
def kiln(request):
    return os.path.abspath(request.config.getoption("--kiln"))


@pytest.fixture(scope="session")
def work(request):
    d = os.path.abspath(request.config.getoption("--work"))
    os.makedirs(d, exist_ok=True)
    return d


def compile_model(kiln, out, *flags):
    if not os.path.exists(out):
        subprocess.run([kiln, "compile", SST2, "-o", out, "--batch", "4", "--seq", "16,64", "--vocab", VOCAB] + list(flags),
                       check=True, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="session")
def artifacts(kiln, work):
    """name -> path: sst2 (classifier), embedder (task embedding), pair (pair classifier)."""
    return {
        "sst2": compile_model(kiln, os.path.join(work, "sst2.kiln"), "--labels", "negative,positive"),
        "embedder": compile_model(kiln, os.path.join(work, "embedder.kiln"), "--task", "embedding"),
        "pair": compile_model(kiln, os.path.join(work, "pair.kiln"), "--task", "pair-classification",
                              "--labels", "different,paraphrase"),
    }


class Server:
    """One `kiln serve` process on a free loopback port; its stderr (access log) goes to a file."""

    def __init__(self, kiln, work, args, name="server", scheme="http", env=None):
        self.log_path = os.path.join(work, name + ".log")
        self.log = open(self.log_path, "w+")
        args = list(args) + ([] if "--grpc-port" in args else ["--grpc-port", "0"])
        self.proc = subprocess.Popen([kiln, "serve", "--http-port", "0"] + args, stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=env)
        deadline = time.time() + 120
        self.port = None
        while time.time() < deadline and self.port is None:
            time.sleep(0.05)
            with open(self.log_path) as f:
                m = re.search(r"listening on https?://[^:]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("kiln serve exited %s:\n%s" % (self.proc.returncode, open(self.log_path).read()))
        assert self.port, "kiln serve did not start:\n" + open(self.log_path).read()
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def start(kiln, work):
    started = []

    def _start(*args, **kw):
        s = Server(kiln, work, args, **kw)
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def server(start, artifacts):
    """The three models, one replica each, dynamic batching with a short delay."""
    return start(artifacts["sst2"], artifacts["embedder"], artifacts["pair"], "--max-batch-delay-us", "2000",
                 "--max-client-batch", "16", "--max-body-bytes", "200000", "--read-timeout-ms", "1500", name="main")


def alive(url, **kw):
    return requests.get(url + "/v2/health/live", timeout=10, **kw).status_code == 200
