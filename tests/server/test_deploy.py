"""The deploy files (Dockerfile, deploy/kubernetes, deploy/kserve) against the binary: every `kiln serve`
flag they pass exists in `kiln serve --help`, every probe path answers 200 on a running server, and the
ports they expose are the ones the flags choose. (Building the image needs Docker, which CI has not.)"""
import os
import re
import subprocess

import requests
import yaml

from conftest import ROOT


def serve_flags(kiln):
    out = subprocess.run([kiln, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out))


def deploy_documents():
    """(file, document) for every YAML document under deploy/."""
    docs = []
    for d, _, files in os.walk(os.path.join(ROOT, "deploy")):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                path = os.path.join(d, f)
                docs += [(path, doc) for doc in yaml.safe_load_all(open(path)) if doc]
    return docs


def containers(doc):
    spec = doc.get("spec", {})
    if doc["kind"] == "Deployment":
        return spec["template"]["spec"]["containers"]
    if doc["kind"] == "ServingRuntime":
        return spec["containers"]
    return []


def dockerfile_args():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    args = []
    for key in ("ENTRYPOINT", "CMD"):
        m = re.search(r"^%s (\[.*\])$" % key, text, re.M)
        args += __import__("json").loads(m.group(1))
    probe = re.search(r"curl -fsS http://127\.0\.0\.1:(\d+)(/\S+)", text)
    return args, (int(probe.group(1)), probe.group(2)), [int(p) for p in re.findall(r"^EXPOSE (.*)$", text, re.M)[0].split()]


def test_every_flag_the_deploy_files_use_exists(kiln):
    flags = serve_flags(kiln)
    used = []
    args, _, _ = dockerfile_args()
    used += [("Dockerfile", a) for a in args if a.startswith("--")]
    for path, doc in deploy_documents():
        for c in containers(doc):
            used += [(path, a) for a in c.get("args", []) + c.get("command", []) if a.startswith("--")]
    assert used, "no flags found in the deploy files"
    missing = [(f, a) for f, a in used if a not in flags]
    assert not missing, "flags not in kiln serve --help: %s" % missing


def test_deploy_probes_answer_on_a_running_server(start, artifacts):
    s = start(artifacts["sst2"], name="deploy")
    paths = set()
    _, (port, probe), exposed = dockerfile_args()
    paths.add(probe)
    args, _, _ = dockerfile_args()
    assert str(port) == args[args.index("--http-port") + 1] and port in exposed
    assert int(args[args.index("--grpc-port") + 1]) in exposed
    for path, doc in deploy_documents():
        for c in containers(doc):
            for probe in ("livenessProbe", "readinessProbe"):
                if probe in c:
                    paths.add(c[probe]["httpGet"]["path"])
                    port = c[probe]["httpGet"]["port"]
                    named = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
                    port = named.get(port, port)
                    cargs = c.get("args", [])
                    if "--http-port" in cargs:
                        assert int(cargs[cargs.index("--http-port") + 1]) == port, (path, probe)
                    else:
                        assert port == 8000, (path, probe)  # the Dockerfile's entrypoint port
    assert paths >= {"/v2/health/live", "/v2/health/ready"}
    for p in sorted(paths):
        assert requests.get(s.url + p, timeout=10).status_code == 200, p
