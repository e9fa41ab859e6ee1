"""Fixtures for the Python package's tests: the package from the build tree, the trained SST-2 model compiled
with its tokenizer, and seeded PyTorch models of four families (tools/fixtures/make_fixtures.py).

Run by CTest (python.package): python3 -m pytest tests/python --build-python build/python --kiln build/kiln --work DIR
    --fixtures-dir build/fixtures
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCAB = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")
SST2 = os.path.join(ROOT, "models", "sst2_tiny", "model.onnx")
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))


def pytest_addoption(parser):
    parser.addoption("--build-python", default=os.path.join(ROOT, "build", "python"))
    parser.addoption("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    parser.addoption("--work", default=os.path.join(ROOT, "build", "python_tests"))
    parser.addoption("--fixtures-dir", default=os.path.join(ROOT, "build", "fixtures"))


def pytest_configure(config):
    # The package as built (build/python/kiln: the extension and the .py files), not an installed copy.
    sys.path.insert(0, os.path.abspath(config.getoption("--build-python")))


@pytest.fixture(scope="session")
def kiln():
    import kiln
    assert os.path.dirname(kiln.__file__).startswith(os.path.dirname(os.path.dirname(kiln._kiln.__file__)))
    return kiln


@pytest.fixture(scope="session")
def kiln_bin(request):
    """The CLI of the same build, for comparisons."""
    return os.path.abspath(request.config.getoption("--kiln"))


@pytest.fixture(scope="session")
def build_python(request):
    return os.path.abspath(request.config.getoption("--build-python"))


@pytest.fixture(scope="session")
def work(request):
    d = os.path.abspath(request.config.getoption("--work"))
    os.makedirs(d, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def fixtures_dir(request):
    return os.path.abspath(request.config.getoption("--fixtures-dir"))


@pytest.fixture(scope="session")
def sst2_path(kiln, work):
    """The trained SST-2 classifier with the BERT vocabulary and labels, buckets 16 and 64, batch 4."""
    path = os.path.join(work, "sst2.kiln")
    if not os.path.exists(path):
        kiln.compile(SST2, path, batch=4, seq=[16, 64], vocab=VOCAB, labels=["negative", "positive"]).close()
    return path


@pytest.fixture(scope="session")
def sst2(kiln, sst2_path):
    with kiln.load(sst2_path) as m:
        yield m


def sst2_inputs(rows, length, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(rows, length), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    return {"input_ids": ids, "attention_mask": np.ones((rows, length), np.int64),
            "token_type_ids": np.zeros((rows, length), np.int64)}


FAMILIES = ["bert_seqcls", "roberta_tokcls", "distilbert_seqcls", "minilm_embed", "electra_seqcls", "xlmr_seqcls"]


def family_model(name, batch=3, seq=29, seed=7):
    """A seeded eval-mode PyTorch model of a fixture family, and example inputs for it (a padded row included)."""
    import torch
    import make_fixtures as mf
    spec = mf.FIXTURES[name]
    config = mf.Config(**spec["config"])
    model = spec["model_class"](config)
    mf.init_weights(model, spec["seed"])
    model.eval()
    tokens = spec["tokens"]
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(tokens["first_regular"], config.vocab_size, (batch, seq), generator=g)
    ids[:, 0] = tokens["cls"]
    ids[:, -1] = tokens["sep"]
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[-1, seq // 2:] = 0
    ids[-1, seq // 2:] = tokens["pad"]
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in spec["inputs"]:
        inputs["token_type_ids"] = torch.zeros(batch, seq, dtype=torch.int64)
    return model, tuple(inputs[n] for n in spec["inputs"])
