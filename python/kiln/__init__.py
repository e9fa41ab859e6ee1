"""Kiln: an ahead-of-time compiler and runtime for transformer inference on CPUs.

    import kiln
    model = kiln.compile("model.onnx", batch=8, seq=128)   # or a Hugging Face folder
    logits = model(input_ids, attention_mask)               # NumPy arrays or torch tensors
    model.save("model.kiln"); model = kiln.load("model.kiln")

    import kiln.torch
    traced = kiln.torch.trace(module, (input_ids, attention_mask))   # a torch.nn.Module running Kiln

Everything runs in Kiln's C++ core (the extension kiln._kiln); this package converts arguments and results.
See docs/python.md.
"""

from . import _kiln
from ._errors import Error, InternalError, InvalidInputError, QueueFullError, VerificationError
from .compiler import analyze, bench, compile
from .model import Model, ModelInfo, TensorInfo, load

__version__ = _kiln.__version__

__all__ = ["Error", "InvalidInputError", "InternalError", "QueueFullError", "VerificationError", "Model",
           "ModelInfo", "TensorInfo", "analyze", "bench", "compile", "load", "hf", "torch"]


def __getattr__(name):
    # kiln.torch and kiln.hf load on first use: importing torch takes seconds, and NumPy users never need it.
    if name in ("torch", "hf"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module 'kiln' has no attribute %r" % name)
