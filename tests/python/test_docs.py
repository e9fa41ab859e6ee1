"""docs/python.md's Python examples run, in order, in one namespace, from a folder that holds the repository's
models/, data/ and tools/ (so the paths in the page work and the files it writes land in the test's folder)."""
import os
import re

from conftest import ROOT


def test_docs_python_md_examples_run(kiln, tmp_path, capsys):
    text = open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    for name in ("models", "data", "tools"):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace = {}
        for i, block in enumerate(blocks):
            exec(compile(block, "docs/python.md block %d" % (i + 1), "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "the model is closed" in out and "input 'input_ids'" in out
    assert (tmp_path / "sst2.kiln").exists() and (tmp_path / "bert.kiln").exists()


def test_example_workflow_runs(build_python, tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "neuron_workflow.py"), "--work",
                        str(tmp_path), "--train-steps", "10", "--bench-seconds", "0.2", "--test-pairs", "120"],
                       env=dict(os.environ, PYTHONPATH=build_python), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "120 pairs" in r.stdout and "label agreement 100.00%" in r.stdout, r.stdout
    assert (tmp_path / "mrpc.kiln").exists()
