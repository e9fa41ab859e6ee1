#!/usr/bin/python3
"""`--wait-policy` end to end: kiln re-executes itself so that OpenMP starts with the policy.

    /usr/bin/python3 tests/e2e/test_wait_policy.py --kiln build/kiln --fixtures build/fixtures

libgomp reads OMP_WAIT_POLICY when it loads, before main, so the CLI applies a command's --wait-policy
by re-executing kiln with the variable set (kiln::ensure_wait_policy). Checked here, with OMP_WAIT_POLICY
removed from the environment unless a case sets it:
  * `bench --wait-policy passive|active` records the policy the process ran with in its JSON, and prints
    its report once (the re-executed process prints, the first one does not);
  * no flag: "default"; an explicit OMP_WAIT_POLICY that agrees: no re-execution needed;
  * an explicit OMP_WAIT_POLICY that disagrees, or an unknown policy: one-line errors, exit 1.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kiln_wait_")
    art = os.path.join(tmp, "m.kiln")
    subprocess.run([args.kiln, "compile", os.path.join(args.fixtures, "bert_seqcls", "model.onnx"), "-o", art,
                    "--batch", "2", "--seq", "16"], check=True, stdout=subprocess.DEVNULL)
    failures = 0

    def bench(policy_flag, env_policy):
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KILN_WAIT_POLICY_REEXEC")}
        if env_policy:
            env["OMP_WAIT_POLICY"] = env_policy
        out = os.path.join(tmp, "b.json")
        if os.path.exists(out):
            os.remove(out)
        argv = [args.kiln, "bench", art, "--seconds", "0.2", "--warmup", "0", "--json", out]
        if policy_flag:
            argv += ["--wait-policy", policy_flag]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        j = json.load(open(out)) if p.returncode == 0 and os.path.exists(out) else None
        return p, j

    def check(name, ok, detail=""):
        nonlocal failures
        print("%s %-40s %s" % ("ok  " if ok else "FAIL", name, detail))
        failures += 0 if ok else 1

    for flag, env_policy, want in [("passive", None, "passive"), ("active", None, "active"), (None, None, "default"),
                                   ("passive", "PASSIVE", "passive"), ("default", "active", "active")]:
        p, j = bench(flag, env_policy)
        got = j.get("wait_policy") if j else None  # one artifact: the run object itself
        reports = p.stdout.decode().count("throughput")
        check("flag=%s env=%s" % (flag, env_policy), p.returncode == 0 and got == want and reports == 1,
              "rc=%d policy=%s reports=%d %s" % (p.returncode, got, reports, p.stderr.decode().strip()[-200:]))

    for name, flag, env_policy, expect in [
        ("conflicting_environment", "passive", "ACTIVE", "OMP_WAIT_POLICY=ACTIVE in the environment conflicts with the wait policy passive"),
        ("unknown_policy", "spin", None, "wait policy 'spin' is not one of default, active, passive"),
    ]:
        p, _ = bench(flag, env_policy)
        err = p.stderr.decode()
        lines = [l for l in err.splitlines() if l.strip()]
        check(name, p.returncode == 1 and len(lines) == 1 and lines[0].startswith("kiln: error: ") and expect in err,
              "rc=%d stderr=%r" % (p.returncode, err.strip()))

    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
