"""`pip install --no-build-isolation .` builds the same extension through setup.py (CMake, no network) and the
installed package works on its own."""
import os
import subprocess
import sys

from conftest import ROOT, SST2


def test_pip_install_builds_and_runs(build_python, tmp_path):
    target = tmp_path / "site"
    env = dict(os.environ, KILN_BUILD_DIR=os.path.dirname(build_python))  # reuse this build tree: incremental
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                        "--target", str(target), ROOT], env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (target / "kiln" / "__init__.py").exists() and list((target / "kiln").glob("_kiln*.so"))
    script = (
        "import kiln, numpy as np, os\n"
        "assert kiln.__file__.startswith(%r), kiln.__file__\n"
        "m = kiln.compile(%r, batch=1, seq=8)\n"
        "y = m(np.full((1, 8), 1000, np.int64), np.ones((1, 8), np.int64), np.zeros((1, 8), np.int64))\n"
        "assert y.shape == (1, 2) and np.isfinite(y).all()\n"
        "print('ok', kiln.__version__)\n" % (str(target), SST2))
    run = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(target)), cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.startswith("ok "), run.stdout + run.stderr
