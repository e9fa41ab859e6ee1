"""kiln.Model: a compiled artifact opened for running, and kiln.load."""

import dataclasses
import os
import shutil
import weakref
from typing import List, Tuple


from . import _kiln
from ._errors import InvalidInputError


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One model input or output. `shape` has -1 where a request may vary (rows, sequence length)."""
    name: str
    dtype: str               # "f32", "i64", ... (Kiln's names; NumPy: float32, int64, ...)
    shape: Tuple[int, ...]   # what a request may send
    compiled_shape: Tuple[int, ...]  # as compiled, for the longest sequence bucket
    batch_axis: int          # -1: none
    seq_axis: int            # -1: none
    role: str                # token_ids | attention_mask | token_type_ids | other


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What `kiln inspect` shows: inputs, outputs, task, labels, precision and sequence buckets."""
    path: str
    inputs: Tuple[TensorInfo, ...]
    outputs: Tuple[TensorInfo, ...]
    task: str                # classification | pair-classification | embedding | token-classification | other
    labels: Tuple[str, ...]
    precision: str           # fp32 | bf16-matmult | int8-dynamic | ...
    batch: int               # the compiled batch (a request may have any row count when any_rows)
    buckets: Tuple[int, ...]  # compiled sequence lengths, ascending
    max_length: int
    any_rows: bool
    any_length: bool
    batching_reason: str
    pad_id: int
    has_tokenizer: bool
    pipeline_stages: int

    @staticmethod
    def _from_dict(d):
        def tensor(t):
            return TensorInfo(t["name"], t["dtype"], tuple(t["shape"]), tuple(t["compiled_shape"]), t["batch_axis"],
                              t["seq_axis"], t["role"])
        fields = dict(d)
        fields["inputs"] = tuple(tensor(t) for t in d["inputs"])
        fields["outputs"] = tuple(tensor(t) for t in d["outputs"])
        fields["labels"] = tuple(d["labels"])
        fields["buckets"] = tuple(d["buckets"])
        return ModelInfo(**fields)


def _torch_module():
    import sys
    return sys.modules.get("torch")  # only tensors of an imported torch can be passed


def _is_torch_tensor(value):
    torch = _torch_module()
    return torch is not None and isinstance(value, torch.Tensor)


def _from_torch(name, tensor):
    """A torch tensor as a NumPy array: shares memory for a CPU tensor (one copy from another device)."""
    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    try:
        return t.numpy()
    except (TypeError, RuntimeError) as e:  # bfloat16, complex, ...: no NumPy view
        raise InvalidInputError("input '%s': torch dtype %s cannot be passed to Kiln (%s)" % (name, t.dtype, e)) from None


class Model:
    """A compiled model (.kiln artifact), ready to run on this CPU's cores.

    Calls go through Kiln's serving Engine: any row count, any sequence length up to the longest compiled
    bucket (padded into the smallest bucket that fits), dynamic batching across threads. The GIL is released
    while the model runs, so Python threads run requests concurrently. Thread-safe.

    Engine options: `instances` replicas (one core group each), `threads` (one replica on the first N
    CPUs), `max_batch` rows merged per call, `max_batch_delay_us` to wait for more rows, `pipeline` stages,
    `max_queue` pending requests (beyond it a call raises kiln.QueueFullError).
    """

    def __init__(self, path, *, instances=1, threads=0, max_batch=0, max_batch_delay_us=0, pipeline=0,
                 max_queue=1024):
        self._impl = _kiln.Model(os.fspath(path), instances, threads, max_batch, max_batch_delay_us, pipeline,
                                 max_queue)
        self.info = ModelInfo._from_dict(self._impl.info())
        self.input_names = [t.name for t in self.info.inputs]
        self.output_names = [t.name for t in self.info.outputs]
        self.compile_report = None  # kiln.compile: what the compiler reported
        self._cleanup = None

    # ---- running ---------------------------------------------------------------------------------------

    def __call__(self, *arrays, **named):
        """Runs the model on inputs given in the model's input order and/or by name. Returns the output
        (one output) or a tuple of outputs in the model's order: NumPy arrays, or torch tensors when any
        input was one."""
        if len(arrays) > len(self.input_names):
            raise InvalidInputError("%d positional inputs, but the model takes %d (%s)" % (
                len(arrays), len(self.input_names), ", ".join(self.input_names)))
        feeds = dict(zip(self.input_names, arrays))
        for name, value in named.items():
            if name in feeds:
                raise InvalidInputError("input '%s' given twice (by position and by name)" % name)
            feeds[name] = value
        outputs = self._run(feeds)
        values = tuple(outputs.values())
        return values[0] if len(values) == 1 else values

    def run(self, inputs):
        """Runs the model on a dict {input name: array}. Returns {output name: array}, in the model's output
        order: NumPy arrays, or torch tensors when any input was one."""
        if not isinstance(inputs, dict):
            raise InvalidInputError("Model.run takes a dict {input name: array}, not a %s" % type(inputs).__name__)
        return self._run(inputs)

    def _run(self, feeds):
        unknown = [n for n in feeds if n not in self.input_names]
        if unknown:
            raise InvalidInputError("unknown input%s %s; the model's inputs are %s" % (
                "s" if len(unknown) > 1 else "", ", ".join("'%s'" % n for n in unknown), ", ".join(self.input_names)))
        as_torch = any(_is_torch_tensor(v) for v in feeds.values())
        named = [(n, _from_torch(n, v) if _is_torch_tensor(v) else v) for n, v in feeds.items()]
        outputs = self._impl.run(named)
        if as_torch:
            torch = _torch_module()
            return {n: torch.from_numpy(a) for n, a in outputs}
        return dict(outputs)

    # ---- text in (models compiled with a tokenizer) -------------------------------------------------------

    def classify(self, texts, pairs=None):
        """Labels for texts (and second texts of sentence pairs): a list of {"label", "index", "score",
        "scores": [every class, most likely first], "tokens"}, one per text."""
        texts, single = _text_list(texts, "texts")
        pairs = [] if pairs is None else _text_list(pairs, "pairs")[0]
        result = self._impl.classify(texts, pairs)
        return result[0] if single else result

    def embed(self, texts, normalize=False):
        """Embeddings of texts: float32 [len(texts), dim] (one row for a single string), unit L2 norm with
        `normalize`."""
        texts, single = _text_list(texts, "texts")
        result = self._impl.embed(texts, bool(normalize))
        return result[0] if single else result

    def tokenize(self, texts, pairs=None, truncate=True):
        """The model's tokenizer on texts: a list of {"tokens", "ids", "token_type_ids", "attention_mask"},
        truncated to the longest compiled length (with truncate=False, a longer text raises instead)."""
        texts, single = _text_list(texts, "texts")
        pairs = [] if pairs is None else _text_list(pairs, "pairs")[0]
        result = self._impl.tokenize(texts, pairs, bool(truncate))
        return result[0] if single else result

    # ---- the artifact and its life --------------------------------------------------------------------------

    @property
    def path(self):
        return self.info.path

    def save(self, path):
        """Writes the artifact to `path`, byte for byte (kiln.load reads it back)."""
        self._impl.save(os.fspath(path))

    def stats(self):
        """The Engine's counters since load: requests, calls, rows, queue depth, time sums."""
        return self._impl.stats()

    def close(self):
        """Stops the Engine (finishing calls in progress) and unmaps the artifact. Later calls raise
        kiln.Error. Also what `with kiln.load(...) as model:` does at the end."""
        self._impl.close()
        if self._cleanup is not None:
            self._cleanup()

    @property
    def closed(self):
        return self._impl.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _own_directory(self, directory):
        """Removes `directory` (kiln.compile's temporary artifact) when this model is closed or collected."""
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)

    def __repr__(self):
        i = self.info
        state = "closed" if self.closed else "%s, batch %d, buckets %s" % (i.precision, i.batch, list(i.buckets))
        return "<kiln.Model %s (%s, %s)>" % (i.path, i.task, state)


def _text_list(texts, what) -> Tuple[List[str], bool]:
    if isinstance(texts, str):
        return [texts], True
    try:
        texts = list(texts)
    except TypeError:
        raise InvalidInputError("%s must be a string or a list of strings, not a %s" % (what, type(texts).__name__)) from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InvalidInputError("%s[%d] is a %s, not a string" % (what, i, type(t).__name__))
    return texts, False


def load(path, **engine_options) -> Model:
    """Opens a compiled artifact (.kiln). Engine options as for kiln.Model."""
    return Model(path, **engine_options)


__all__ = ["Model", "ModelInfo", "TensorInfo", "load"]
