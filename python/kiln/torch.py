"""kiln.torch: compile a PyTorch module the way torch.neuron.trace does.

    import kiln.torch
    traced = kiln.torch.trace(model, (input_ids, attention_mask))   # export, compile, verify
    logits = traced(input_ids, attention_mask)                       # a torch.nn.Module running Kiln
    traced.save("model.kiln"); traced = kiln.torch.load("model.kiln")

trace exports through torch.onnx.export with dynamic batch and sequence axes, compiles with Kiln (the
example's batch and sequence length unless given), runs the compiled model on the example inputs and
compares every output with the module's own: over the tolerance it raises kiln.VerificationError with the
measured error. The returned module takes any row count and any sequence length up to the compiled one.
"""

import contextlib
import inspect
import os
import tempfile
import warnings

import torch

from ._errors import InvalidInputError, VerificationError
from .compiler import analyze as _analyze_file
from .compiler import compile as _compile
from .model import Model, load as _load

# Max abs error allowed between the compiled model and eager PyTorch on the example inputs, by the precision
# the artifact was compiled for (docs/python.md). fp32 differs only by summation order; the others by the
# rounding of their GEMM inputs (bf16: 8 bits of mantissa; int8: per-channel weights, per-tensor activations).
DEFAULT_TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "bf16": 1e-1, "int8": 2e-1}

DEFAULT_OPSET = 14


def _tolerance_for(precision):
    for prefix, tol in DEFAULT_TOLERANCE.items():
        if precision.startswith(prefix):
            return tol
    return DEFAULT_TOLERANCE["fp32"]


def _flatten(value, key, out):
    """The tensors of a module's output in order as (dict key or None, tensor): a tensor, tuples and lists,
    dicts (ModelOutput), None skipped, the order torch.onnx.export flattens them in."""
    if value is None:
        return
    if isinstance(value, torch.Tensor):
        out.append((key, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, str(k), out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _flatten(v, None, out)
    else:
        raise InvalidInputError("kiln.torch.trace: the module returned a %s; Kiln compiles modules returning "
                                "tensors (or tuples, lists and dicts of them)" % type(value).__name__)


def _output_names(flat):
    """Dict keys where the module gave them ('logits'), else 'output' (one) or 'output_<i>'."""
    names = [k if k is not None else ("output" if len(flat) == 1 else "output_%d" % i) for i, (k, _) in enumerate(flat)]
    seen, out = {}, []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else "%s_%d" % (n, seen[n] - 1))
    return out


def _example_inputs(module, example_inputs):
    """(names, tensors, by_name) of the example inputs in forward()'s parameter order: positional ones named
    by its parameters; a dict's entries put in that order (passed by name when they skip a parameter)."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    params = [p.name for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if isinstance(example_inputs, dict):
        unknown = [k for k in example_inputs if k not in params]
        if unknown:
            raise InvalidInputError("kiln.torch.trace: example inputs %s are not parameters of %s.forward (%s)" % (
                ", ".join(map(repr, unknown)), type(module).__name__, ", ".join(params)))
        names = [p for p in params if p in example_inputs]
        tensors = [example_inputs[n] for n in names]
        by_name = names != params[:len(names)]
    elif isinstance(example_inputs, (tuple, list)):
        if len(example_inputs) > len(params):
            raise InvalidInputError("kiln.torch.trace: %d example inputs, but %s.forward takes %d" % (
                len(example_inputs), type(module).__name__, len(params)))
        names, tensors, by_name = params[:len(example_inputs)], list(example_inputs), False
    else:
        raise InvalidInputError("kiln.torch.trace: example_inputs must be a tensor, a tuple of tensors or a dict "
                                "of them, not a %s" % type(example_inputs).__name__)
    if not names:
        raise InvalidInputError("kiln.torch.trace: no example inputs")
    for n, t in zip(names, tensors):
        if not isinstance(t, torch.Tensor):
            raise InvalidInputError("kiln.torch.trace: example input '%s' is a %s, not a torch tensor" % (n, type(t).__name__))
    return names, tensors, by_name


def _module_path(node_name):
    """The module a node of torch.onnx.export came from: '/bert/encoder/layer.0/Det' -> 'bert.encoder.layer.0'."""
    parts = [p for p in node_name.split("/") if p]
    return ".".join(parts[:-1])


def _export(module, names, tensors, by_name, path, opset):
    """torch.onnx.export with every input's axis 0 as 'batch' and axis 1 as 'sequence', outputs named and their
    batch (and, for per-token outputs, sequence) axes dynamic. Returns the output names and eager outputs."""
    with torch.no_grad():
        eager = module(**dict(zip(names, tensors))) if by_name else module(*tensors)
    flat = []
    _flatten(eager, None, flat)
    if not flat:
        raise InvalidInputError("kiln.torch.trace: the module returned no tensors")
    out_names = _output_names(flat)
    seq = tensors[0].shape[1] if tensors[0].dim() >= 2 else None
    axes = {}
    for n, t in zip(names, tensors):
        axes[n] = {0: "batch", 1: "sequence"} if t.dim() >= 2 else ({0: "batch"} if t.dim() == 1 else {})
    for n, (_, t) in zip(out_names, flat):
        a = {0: "batch"} if t.dim() >= 1 else {}
        if t.dim() >= 3 and seq is not None and t.shape[1] == seq:
            a[1] = "sequence"
        axes[n] = a
    args = (dict(zip(names, tensors)),) if by_name else tuple(tensors)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings (Python ints, ...)
            torch.onnx.export(module, args, path, input_names=names, output_names=out_names, dynamic_axes=axes,
                              opset_version=opset, do_constant_folding=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise InvalidInputError("kiln.torch.trace: torch.onnx.export failed for %s: %s: %s" % (
            type(module).__name__, type(e).__name__, first)) from e
    return out_names, [t for _, t in flat]


def _unsupported(module, report):
    """One line per unsupported op type: its nodes and the modules they came from."""
    lines = []
    for op in report["ops"]:
        if op["supported"]:
            continue
        places = []
        for node in op["nodes"]:
            path = _module_path(node)
            try:
                kind = type(module.get_submodule(path)).__name__ if path else type(module).__name__
            except AttributeError:
                kind = None
            places.append("%s (module %s%s)" % (node, path or "<top>", ", " + kind if kind else ""))
        lines.append("%s: %s" % (op["op"], "; ".join(places)))
    return lines


@contextlib.contextmanager
def _exported(module, example_inputs, opset, prefix):
    """Exports `module` in eval mode (its mode restored after) into a temporary folder and analyzes it. Yields
    (onnx path, input names, example tensors, output names, eager outputs, kiln.analyze report); the folder
    goes at the end of the block."""
    names, tensors, by_name = _example_inputs(module, example_inputs)
    was_training = module.training
    module.eval()
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            onnx_path = os.path.join(tmp, "model.onnx")
            out_names, eager = _export(module, names, tensors, by_name, onnx_path, opset)
            yield onnx_path, names, tensors, out_names, eager, _analyze_file(onnx_path)
    finally:
        module.train(was_training)


class TracedModule(torch.nn.Module):
    """A torch.nn.Module whose forward runs a compiled Kiln model: torch tensors in (positionally in the
    traced module's input order, or by name), torch tensors out (one, or a tuple in the traced order).
    `kiln_model` is the kiln.Model underneath; `info` its ModelInfo."""

    def __init__(self, model: Model):
        super().__init__()
        self.kiln_model = model
        self.info = model.info

    def forward(self, *args, **kwargs):
        return self.kiln_model(*args, **kwargs)

    def save(self, path):
        """Writes the compiled artifact (one file, like torch.jit.save); kiln.torch.load reads it back."""
        self.kiln_model.save(path)

    def extra_repr(self):
        i = self.info
        return "%s, %s, inputs %s, outputs %s" % (i.path, i.precision, [t.name for t in i.inputs],
                                                  [t.name for t in i.outputs])


def trace(module, example_inputs, *, tolerance=None, opset=DEFAULT_OPSET, output=None, **compile_options) -> TracedModule:
    """Exports `module` with `example_inputs` (a tensor, a tuple of tensors in forward()'s order, or a dict
    by parameter name) through torch.onnx.export, compiles it with kiln.compile(**compile_options) (batch
    and seq default to the example's), and verifies the compiled model against the module's own outputs on
    the example inputs: kiln.VerificationError, with the measured error, when any output differs by more
    than `tolerance` (max abs; default by precision, DEFAULT_TOLERANCE). An op Kiln does not support raises
    kiln.InvalidInputError naming it and the module it came from. Returns a TracedModule.
    """
    if not isinstance(module, torch.nn.Module):
        raise InvalidInputError("kiln.torch.trace: expected a torch.nn.Module, not a %s" % type(module).__name__)
    with _exported(module, example_inputs, opset, "kiln-trace-") as (onnx_path, names, tensors, out_names, eager, report):
        if not report["all_supported"]:
            raise InvalidInputError("kiln.torch.trace: %s uses operators Kiln does not support: %s" % (
                type(module).__name__, " | ".join(_unsupported(module, report))))
        if tensors[0].dim() >= 1:
            compile_options.setdefault("batch", int(tensors[0].shape[0]))
        if tensors[0].dim() >= 2:
            compile_options.setdefault("seq", int(tensors[0].shape[1]))
        model = _compile(onnx_path, output, **compile_options)
    traced = TracedModule(model)
    try:
        traced.verification = verify(traced, dict(zip(names, tensors)), eager, tolerance)
    except BaseException:
        model.close()
        raise
    return traced


def verify(traced, inputs, expected, tolerance=None):
    """Runs `traced` on `inputs` ({name: tensor}) and compares each output with `expected` (a list of tensors
    in output order; max abs error). Raises kiln.VerificationError naming every output over the tolerance;
    returns {output: max abs error}."""
    tol = _tolerance_for(traced.info.precision) if tolerance is None else float(tolerance)
    got = traced(**inputs)
    got = got if isinstance(got, tuple) else (got,)
    names = traced.kiln_model.output_names
    if len(got) != len(expected):
        raise VerificationError("kiln.torch.trace: the compiled model has %d outputs, the module %d" % (len(got), len(expected)))
    errors, bad = {}, []
    for n, g, e in zip(names, got, expected):
        e = e.detach().to(torch.float32) if e.is_floating_point() else e.detach()
        if tuple(g.shape) != tuple(e.shape):
            bad.append("output '%s' has shape %s, the module's %s" % (n, tuple(g.shape), tuple(e.shape)))
            continue
        err = float((g.to(e.dtype) - e).abs().max()) if g.numel() else 0.0
        errors[n] = err
        if not err <= tol:  # NaN fails too
            bad.append("output '%s' differs from the module's own by %.3g (max abs), over the tolerance %.3g" % (n, err, tol))
    if bad:
        raise VerificationError("kiln.torch.trace (%s): %s" % (traced.info.precision, "; ".join(bad)))
    return errors


def load(path, **engine_options) -> TracedModule:
    """Reads an artifact written by TracedModule.save (or any .kiln file) as a TracedModule."""
    return TracedModule(_load(path, **engine_options))


def analyze(module, example_inputs, *, opset=DEFAULT_OPSET, print_table=True) -> dict:
    """Exports `module` as trace does and prints Kiln's operator-support table for it; returns the report
    (kiln.analyze's dict, with "unsupported": one line per unsupported op naming its nodes and modules)."""
    with _exported(module, example_inputs, opset, "kiln-analyze-") as exported:
        onnx_path, report = exported[0], exported[5]
    report["table"] = report["table"].replace(onnx_path, type(module).__name__)
    report["model"] = type(module).__name__
    report["unsupported"] = _unsupported(module, report)
    if print_table:
        print(report["table"], end="")
        for line in report["unsupported"]:
            print("unsupported: " + line)
    return report


__all__ = ["DEFAULT_TOLERANCE", "TracedModule", "analyze", "load", "trace", "verify"]
