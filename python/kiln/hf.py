"""kiln.hf.compile: Hugging Face checkpoint folders (config.json, model.safetensors or pytorch_model.bin,
vocab.txt or tokenizer.json), for discoverability. The same function as kiln.compile, which takes folders
as well as ONNX files."""

from .compiler import compile

__all__ = ["compile"]
