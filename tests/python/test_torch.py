"""kiln.torch.trace on four model families against eager PyTorch, in fp32, bf16 and int8; save and load;
analyze; unsupported ops named with their module path; verification failures with the measured error."""
import os

import numpy as np
import pytest
import torch

from conftest import FAMILIES, family_model


@pytest.mark.parametrize("family", FAMILIES)
def test_trace_matches_eager_in_fp32(kiln, family):
    import kiln.torch
    model, example = family_model(family)
    traced = kiln.torch.trace(model, example)
    assert isinstance(traced, torch.nn.Module) and traced.info.precision == "fp32"
    assert max(traced.verification.values()) <= 1e-4
    # Other rows and lengths than the example's, padded rows included: still within 1e-4 of eager.
    _, other = family_model(family, batch=2, seq=17, seed=11)
    with torch.no_grad():
        want = model(*other)
    got = traced(*other)
    assert isinstance(got, torch.Tensor) and got.shape == want.shape
    assert float((got - want).abs().max()) <= 1e-4


@pytest.mark.parametrize("family", ["bert_seqcls", "minilm_embed"])
@pytest.mark.parametrize("options", [dict(auto_cast="matmult"), dict(quantize="int8"),
                                     dict(quantize="int8", auto_cast="matmult")])
def test_trace_low_precision_within_its_documented_tolerance(kiln, family, options):
    import kiln.torch
    model, example = family_model(family)
    traced = kiln.torch.trace(model, example, **options)
    tol = kiln.torch.DEFAULT_TOLERANCE["int8" if "quantize" in options else "bf16"]
    err = max(traced.verification.values())
    assert 0 < err <= tol  # rounding shows, and stays within the documented bound
    assert traced.info.precision != "fp32"


def test_verification_failure_reports_the_measured_error(kiln):
    import kiln.torch
    model, example = family_model("bert_seqcls")
    with pytest.raises(kiln.VerificationError) as e:
        kiln.torch.trace(model, example, auto_cast="matmult", tolerance=1e-9)
    msg = str(e.value)
    assert "output 'output'" in msg and "max abs" in msg and "1e-09" in msg and "bf16-matmult" in msg


def test_save_and_load_like_torch_jit(kiln, work):
    import kiln.torch
    model, example = family_model("distilbert_seqcls")
    traced = kiln.torch.trace(model, example)
    path = os.path.join(work, "traced.kiln")
    traced.save(path)
    loaded = kiln.torch.load(path)
    assert isinstance(loaded, kiln.torch.TracedModule)
    torch.testing.assert_close(loaded(*example), traced(*example), rtol=0, atol=0)
    # By name, and inside another module.
    wrapper = torch.nn.Sequential()
    holder = torch.nn.ModuleDict({"encoder": loaded})
    assert holder["encoder"](input_ids=example[0], attention_mask=example[1]).shape == traced(*example).shape
    assert "distilbert" not in repr(wrapper)


def test_dict_example_inputs_and_tuple_outputs(kiln):
    import kiln.torch

    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(50, 8)
            self.a, self.b = torch.nn.Linear(8, 3), torch.nn.Linear(8, 5)

        def forward(self, input_ids, attention_mask=None, scale=None):
            h = self.emb(input_ids) * attention_mask.unsqueeze(-1)
            return {"first": self.a(h).mean(1), "second": self.b(h)}

    torch.manual_seed(0)
    m = TwoHeads().eval()
    ids = torch.randint(0, 50, (2, 6))
    mask = torch.ones(2, 6)
    traced = kiln.torch.trace(m, {"attention_mask": mask, "input_ids": ids})
    assert [t.name for t in traced.info.inputs] == ["input_ids", "attention_mask"]
    assert traced.kiln_model.output_names == ["first", "second"]
    first, second = traced(ids, mask)
    want = m(ids, mask)
    torch.testing.assert_close(first, want["first"], atol=1e-5, rtol=0)
    torch.testing.assert_close(second, want["second"], atol=1e-5, rtol=0)


class Inner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x):
        return torch.det(self.proj(x).reshape(-1, 2, 2))


class Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Inner()])

    def forward(self, x):
        return self.blocks[0](x)


def test_unsupported_op_is_named_with_its_module(kiln):
    import kiln.torch
    with pytest.raises(kiln.InvalidInputError) as e:
        kiln.torch.trace(Outer(), torch.randn(3, 4))
    msg = str(e.value)
    assert "Det" in msg and "module blocks.0" in msg and "Inner" in msg, msg


def test_analyze_prints_and_returns_the_table(kiln, capsys):
    import kiln.torch
    r = kiln.torch.analyze(Outer(), torch.randn(3, 4))
    out = capsys.readouterr().out
    assert "operator" in out and "Det" in out and "NO" in out and "Outer" in out
    assert not r["all_supported"] and any(o["op"] == "Det" and not o["supported"] for o in r["ops"])
    assert r["unsupported"] and "blocks.0" in r["unsupported"][0]
    model, example = family_model("bert_seqcls")
    assert kiln.torch.analyze(model, example, print_table=False)["all_supported"]


def test_trace_argument_errors(kiln):
    import kiln.torch
    model, example = family_model("bert_seqcls")
    with pytest.raises(kiln.InvalidInputError, match="torch.nn.Module"):
        kiln.torch.trace(lambda x: x, example)
    with pytest.raises(kiln.InvalidInputError, match="not a torch tensor"):
        kiln.torch.trace(model, (example[0], [1, 2]))
    with pytest.raises(kiln.InvalidInputError, match="not parameters"):
        kiln.torch.trace(model, {"input_idz": example[0]})
    with pytest.raises(kiln.InvalidInputError, match="example inputs"):
        kiln.torch.trace(model, tuple(example) * 3)
    assert model.training is False


def test_trace_restores_training_mode(kiln):
    import kiln.torch
    model, example = family_model("bert_seqcls")
    model.train()
    kiln.torch.trace(model, example)
    assert model.training
