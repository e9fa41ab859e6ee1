#!/usr/bin/python3
"""Load tests of `kiln serve` (docs/benchmarks.md, "Serving"), driven by wrk (Debian's wrk, Lua script
bench/serve/infer.lua). Each case starts a server on a loopback port, measures, and stops it; nothing
else runs meanwhile (the benchmark lock, /tmp/kiln-bench.lock, is held by the caller: `make bench-serve`).

  throughput  BERT-base seq 128 (seeded weights), 1-row token requests at concurrency 16, through the
              server's Open Inference Protocol route, against `kiln bench`'s direct-runtime sweep of the
              same Engine configuration (instances, batch, delay, concurrency): ratio >= 0.9 wanted.
  text        the SST-2 classifier, one sentence per /predict request (SST-2 dev, round-robin) at
              concurrency 64, against `kiln eval`'s sentences/s on the same artifact: ratio >= 0.8.
  connections 256 keep-alive connections for --hold-seconds (60) on the text route: zero errors.
  soak        --soak-minutes (30) of moderate load (wrk -c4 on the text route), the server's RSS sampled
              every 10 s: growth after the warm-up (the first 10 %) must stay within 5 %.

    /usr/bin/python3 bench/serve/run.py --kiln build/kiln --work build/bench-serve [--cases throughput,text,connections,soak]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "bench", "serve", "infer.lua")
VOCAB = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")


def log(msg):
    print(msg, flush=True)


class Server:
    def __init__(self, kiln, work, args, name):
        self.log_path = os.path.join(work, name + ".log")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([kiln, "serve", "--http-port", "0", "--grpc-port", "0", "--log-format", "json"] + args,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 300
        self.port = None
        while self.port is None and time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("kiln serve exited:\n" + open(self.log_path).read())
            time.sleep(0.1)
            m = re.search(r"listening on http://[^:]+:(\d+)", open(self.log_path).read())
            self.port = int(m.group(1)) if m else None
        self.url = "http://127.0.0.1:%d" % self.port

    def rss_mb(self):
        for line in open("/proc/%d/status" % self.proc.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def metric(self, name):
        import urllib.request
        text = urllib.request.urlopen(self.url + "/metrics").read().decode()
        return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name + "{"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(120)
        self.log.close()
        if code != 0:
            sys.exit("kiln serve exited %d after SIGTERM" % code)


def wrk(url, path, bodies_file, connections, seconds, threads=2):
    env = dict(os.environ, KILN_PATH=path, KILN_BODIES=bodies_file)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "30s", "-s", LUA, url]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    m = re.search(r"KILN_WRK (.*)", out)
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    r["rps"] = r["requests"] / r["seconds"]
    r["command"] = " ".join(cmd)
    return r


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def bert_base(args):
    """BERT-base seq 128 batch 8 (the demo fixture, seeded weights), compiled once."""
    fx = os.path.join(args.work, "fixture")
    if not os.path.exists(os.path.join(fx, "bert_base_demo", "model.onnx")):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "fixtures", "make_fixtures.py"), fx, "--only", "bert_base_demo",
                        "--batch", "8", "--seq", "128"], check=True, stdout=subprocess.DEVNULL)
    art = os.path.join(args.work, "bert_base.kiln")
    if not os.path.exists(art):
        subprocess.run([args.kiln, "compile", os.path.join(fx, "bert_base_demo", "model.onnx"), "-o", art, "--batch", "8",
                        "--seq", "128"], check=True, stdout=subprocess.DEVNULL)
    return art


def sst2(args):
    art = os.path.join(args.work, "sst2.kiln")
    if not os.path.exists(art):
        subprocess.run([args.kiln, "compile", os.path.join(ROOT, "models", "sst2_tiny", "model.onnx"), "-o", art, "--batch", "8",
                        "--seq", "16,32,64", "--vocab", VOCAB, "--labels", "negative,positive"], check=True, stdout=subprocess.DEVNULL)
    return art


def sst2_sentences():
    rows = open(os.path.join(ROOT, "data", "sst2", "dev.tsv")).read().splitlines()[1:]
    return [r.split("\t")[0] for r in rows if r]


def sst2_bodies(args):
    """One /predict body per SST-2 dev sentence, a line each (what infer.lua sends round-robin)."""
    return write_lines(os.path.join(args.work, "sst2_bodies.txt"),
                       [json.dumps({"inputs": t, "truncate": True}) for t in sst2_sentences()])


def case_throughput(args, results):
    art = bert_base(args)
    delay, conc = 2000, 16
    sweep = os.path.join(args.work, "sweep.json")
    subprocess.run([args.kiln, "bench", art, "--batch", "1", "--concurrency", str(conc), "--max-delay-us", str(delay),
                    "--seconds", str(args.seconds), "--json", sweep], check=True, stdout=subprocess.DEVNULL)
    direct = json.load(open(sweep))["rows"][0]
    seq = 128
    ids = [101] + [1000 + (i * 37) % 20000 for i in range(seq - 2)] + [102]
    body = json.dumps({"inputs": [
        {"name": "input_ids", "shape": [1, seq], "datatype": "INT64", "data": ids},
        {"name": "attention_mask", "shape": [1, seq], "datatype": "INT64", "data": [1] * seq},
        {"name": "token_type_ids", "shape": [1, seq], "datatype": "INT64", "data": [0] * seq}]}, separators=(",", ":"))
    bodies = write_lines(os.path.join(args.work, "bert_bodies.txt"), [body])
    s = Server(args.kiln, args.work, [art, "--max-batch-delay-us", str(delay)], "throughput")
    name = os.path.splitext(os.path.basename(art))[0]
    wrk(s.url, "/v2/models/%s/infer" % name, bodies, conc, 5)  # warm-up
    r = wrk(s.url, "/v2/models/%s/infer" % name, bodies, conc, args.seconds)
    calls = s.metric("kiln_execution_count_total")
    s.stop()
    res = {"server_rps": r["rps"], "direct_rps": direct["requests_per_s"], "ratio": r["rps"] / direct["requests_per_s"],
           "server_p50_ms": r["p50_us"] / 1000, "server_p99_ms": r["p99_us"] / 1000,
           "direct_p50_ms": direct["latency_ms"]["p50"], "direct_p99_ms": direct["latency_ms"]["p99"],
           "errors": r["errors"], "model_calls": calls, "command": r["command"]}
    log("throughput: server %.1f req/s vs direct %.1f (%.2fx), p50 %.0f / p99 %.0f ms, errors %d" %
        (res["server_rps"], res["direct_rps"], res["ratio"], res["server_p50_ms"], res["server_p99_ms"], res["errors"]))
    results["throughput"] = res


def case_text(args, results):
    art = sst2(args)
    report = os.path.join(args.work, "eval.json")
    subprocess.run([args.kiln, "eval", art, "--data", os.path.join(ROOT, "data", "sst2", "dev.tsv"), "--json", report],
                   check=True, stdout=subprocess.DEVNULL)
    ev = json.load(open(report))
    eval_sps = ev.get("sentences_per_s") or ev.get("throughput") or ev["examples"] / ev["seconds"]
    bodies = sst2_bodies(args)
    s = Server(args.kiln, args.work, [art, "--max-batch-delay-us", "2000"], "text")
    wrk(s.url, "/predict", bodies, 64, 5)
    r = wrk(s.url, "/predict", bodies, 64, args.seconds)
    s.stop()
    res = {"server_rps": r["rps"], "eval_sentences_per_s": eval_sps, "ratio": r["rps"] / eval_sps, "errors": r["errors"],
           "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "command": r["command"]}
    log("text: server %.0f req/s vs kiln eval %.0f sentences/s (%.2fx), p50 %.1f / p99 %.1f ms, errors %d" %
        (res["server_rps"], eval_sps, res["ratio"], res["p50_ms"], res["p99_ms"], res["errors"]))
    results["text"] = res


def case_connections(args, results):
    art = sst2(args)
    bodies = sst2_bodies(args)
    s = Server(args.kiln, args.work, [art, "--max-batch-delay-us", "2000"], "connections")
    r = wrk(s.url, "/predict", bodies, 256, args.hold_seconds)
    s.stop()
    res = {"connections": 256, "seconds": r["seconds"], "requests": r["requests"], "errors": r["errors"],
           "p99_ms": r["p99_us"] / 1000, "command": r["command"]}
    log("connections: 256 for %.0f s, %d requests, %d errors, p99 %.0f ms" % (r["seconds"], r["requests"], r["errors"], res["p99_ms"]))
    results["connections"] = res


def case_soak(args, results):
    art = sst2(args)
    bodies = sst2_bodies(args)
    s = Server(args.kiln, args.work, [art, "--max-batch-delay-us", "2000"], "soak")
    env = dict(os.environ, KILN_PATH="/predict", KILN_BODIES=bodies)
    seconds = int(args.soak_minutes * 60)
    load = subprocess.Popen(["wrk", "-t1", "-c4", "-d%ds" % seconds, "--timeout", "30s", "-s", LUA, s.url],
                            stdout=subprocess.PIPE, text=True, env=env)
    samples = []
    t0 = time.time()
    while load.poll() is None:
        samples.append((time.time() - t0, s.rss_mb()))
        time.sleep(10)
    out = load.communicate()[0]
    s.stop()
    m = re.search(r"KILN_WRK (.*)", out)
    w = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    warm = [rss for t, rss in samples if t >= seconds * 0.1]
    growth = (max(warm) - warm[0]) / warm[0] if warm else 0
    res = {"minutes": args.soak_minutes, "requests": w["requests"], "errors": w["connect"] + w["read"] + w["write"] + w["timeout"] + w["status"],
           "rss_mb_after_warmup": warm[0] if warm else 0, "rss_mb_max": max(warm) if warm else 0, "growth": growth,
           "samples": samples}
    log("soak: %.0f min, %d requests, %d errors, RSS %.0f -> max %.0f MiB after warm-up (%.1f%%)" %
        (args.soak_minutes, w["requests"], res["errors"], res["rss_mb_after_warmup"], res["rss_mb_max"], 100 * growth))
    results["soak"] = res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    p.add_argument("--work", default=os.path.join(ROOT, "build", "bench-serve"))
    p.add_argument("--cases", default="throughput,text,connections,soak")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--hold-seconds", type=int, default=60)
    p.add_argument("--soak-minutes", type=float, default=30)
    args = p.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    os.makedirs(args.work, exist_ok=True)
    results = {}
    for case in args.cases.split(","):
        {"throughput": case_throughput, "text": case_text, "connections": case_connections, "soak": case_soak}[case](args, results)
    out = os.path.join(args.work, "results.json")
    prior = json.load(open(out)) if os.path.exists(out) else {}
    prior.update(results)
    json.dump(prior, open(out, "w"), indent=2)
    log("wrote " + out)
    failed = [c for c, r in results.items() if r.get("errors")] + \
             (["throughput ratio"] if results.get("throughput", {}).get("ratio", 1) < 0.9 else []) + \
             (["text ratio"] if results.get("text", {}).get("ratio", 1) < 0.8 else []) + \
             (["soak growth"] if results.get("soak", {}).get("growth", 0) > 0.05 else [])
    if failed:
        sys.exit("below target: " + ", ".join(failed))


if __name__ == "__main__":
    main()
