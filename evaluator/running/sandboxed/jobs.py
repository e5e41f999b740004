"""The two jobs the sandbox runs: counting a custom model's FLOPs, and running a model.

A job is a JSON object (written by ``evaluator.running.custom_code``)::

    {"action": "count", "model_dir": "/submission", "num_labels": 2,
     "lengths": [9, 14, 31], "exit_layers": [1, 2, 3], "static": false, "max_tokens": 512}
    {"action": "run", "model_dir": "/submission", "custom": true, "num_labels": 2,
     "inputs": "/inputs/ids.npz", "thresholds": [0.1, null], "token_budget": 8192,
     "pad_id": 0, "device": "cuda", "dtype": "bf16"}

``count`` writes ``result.json``: ``{"parameters": P, "macs": {"static"|"k": {"L": MACs}}}``;
``run`` writes ``result.npz`` with ``labels_i`` (and ``exits_i``) per threshold ``i`` and
appends progress lines to ``progress.log``. ``device`` (default ``cpu``) is where the model
runs; ``dtype`` ``bf16`` or ``fp16`` runs it under autocast (default ``fp32``: full
precision, TF32 off). ``load_model`` and ``model_step`` are shared with
``evaluator.running.sandboxed.serve``, which serves the model to a measurement.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from evaluator.cost.fvcore_rules import COUNTED_OPS, NOT_COUNTED_OPS
from evaluator.cost.per_example import FIT_LENGTHS, VERIFY_LENGTHS, Quadratic
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET, run_batches

MODEL_CODE = "model.py"
PROGRESS_FILE = "progress.log"
# Ops that compute (matrix products, convolutions, fused attention or recurrent layers) but
# have no ELUE counting rule: a model using them would be counted as if they were free.
UNCOUNTABLE_OP_PARTS = ("conv", "lstm", "gru", "rnn", "bilinear", "multi_head_attention",
                        "transformer_encoder", "addmv", "addbmm", "aten::mv", "aten::dot",
                        "vdot", "outer", "tensordot", "kron", "cdist", "linalg", "_addmm",
                        "flash", "efficient_attention", "aten::bmm_", "chain_matmul")
WEIGHT_SUFFIX = ".safetensors"


class JobFailed(Exception):
    """The submission cannot be counted or run; ``code`` is a stable problem code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def run_job(job: dict) -> None:
    if job["action"] == "count":
        result = json.dumps(count_job(job))
        _fresh("result.json").write_text(result, encoding="utf-8")
    elif job["action"] == "run":
        arrays = run_model_job(job)
        np.savez(_fresh("result.npz"), **arrays)
    else:
        raise JobFailed("bad_job", f"unknown action {job['action']!r}")


def _fresh(name: str) -> Path:
    """``name`` in scratch with whatever the model's code left there (a link) removed."""
    path = Path(name)
    path.unlink(missing_ok=True)
    return path


def progress(message: str) -> None:
    with open(PROGRESS_FILE, "a", encoding="utf-8") as handle:
        handle.write(message.replace("\n", " ") + "\n")


# --- the submitter's module ---------------------------------------------------------------

def import_model_code(model_dir: Path) -> ModuleType:
    """Import ``model.py`` from ``model_dir`` (its sibling modules importable too)."""
    sys.path.insert(0, str(model_dir))
    spec = importlib.util.spec_from_file_location("submission_model", model_dir / MODEL_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("build",):
        if not callable(getattr(module, name, None)):
            raise JobFailed("model_interface", f"{MODEL_CODE} defines no function {name}()")
    return module


def build(module: ModuleType, num_labels: int, device: str):
    """``module.build(num_labels)`` on ``device``, in eval mode, checked to be a Module."""
    import torch

    with torch.device(device):
        model = module.build(num_labels)
    if not isinstance(model, torch.nn.Module):
        raise JobFailed("model_interface", f"build({num_labels}) returned "
                        f"{type(model).__name__}, not a torch.nn.Module")
    return model.eval()


# --- counting -----------------------------------------------------------------------------

def _exit_wrapper(model, exit_layer: int | None):
    import torch

    class AtExit(torch.nn.Module):
        """``model`` leaving at ``exit_layer`` (``None``: the static model), traceable."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            if exit_layer is None:
                return self.model(input_ids)
            return self.model(input_ids, exit_layer=exit_layer)

    return AtExit()


def traced_macs(model, length: int) -> int:
    """MACs of one example of ``length`` tokens under ELUE's rules
    (``evaluator.cost.fvcore_rules``), refusing ops that compute but have no counting rule."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=Warning)
        from fvcore.nn import FlopCountAnalysis

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    ids = torch.ones((1, length), dtype=torch.long, device=device)
    analysis = FlopCountAnalysis(model, (ids,))
    analysis.clear_op_handles().set_op_handle(**COUNTED_OPS)
    analysis.set_op_handle(**dict.fromkeys(NOT_COUNTED_OPS))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with torch.no_grad():
        total = int(analysis.total())
    refused = sorted(op for op in analysis.unsupported_ops()
                     if any(part in op for part in UNCOUNTABLE_OP_PARTS))
    if refused:
        raise JobFailed("uncountable_op", f"the model uses {', '.join(refused)}, which ELUE's "
                        "counter has no rule for (SPEC §3); express it with linear layers, "
                        "matmul, softmax and LayerNorm")
    return total


def macs_by_length(model, exit_layer: int | None, lengths: list[int], max_tokens: int
                   ) -> dict[int, int]:
    """MACs at each of ``lengths``: a quadratic fitted at three lengths and verified at more
    (including the longest), else one trace per length (``evaluator.cost.per_example``)."""
    wrapper = _exit_wrapper(model, exit_layer)
    traced: dict[int, int] = {}

    def at(length: int) -> int:
        if length not in traced:
            traced[length] = traced_macs(wrapper, length)
        return traced[length]

    fit_at = [n for n in FIT_LENGTHS if n <= max_tokens]
    if len(fit_at) == 3:
        fit = Quadratic.through({n: at(n) for n in fit_at})
        checks = sorted({*VERIFY_LENGTHS, max(lengths)} - set(fit_at))
        if all(fit.at(n) == at(n) for n in checks):
            return {n: fit.at(n) for n in lengths}
    return {n: at(n) for n in lengths}


def count_job(job: dict) -> dict:
    """Parameters, and MACs per exit layer (and static) at every needed length."""
    from evaluator.cost.architectures import count_parameters

    module = import_model_code(Path(job["model_dir"]))
    lengths = sorted({int(n) for n in job["lengths"]})
    exits: list[int | None] = [None] if job.get("static") else []
    exits += [int(k) for k in job.get("exit_layers", [])]
    for device in ("meta", "cpu"):  # meta: shapes only; cpu if the code needs real values
        try:
            model = build(module, job["num_labels"], device)
            macs = {("static" if k is None else str(k)): macs_by_length(
                model, k, lengths, job["max_tokens"]) for k in exits}
            break
        except JobFailed:
            raise
        except Exception:
            if device == "cpu":
                raise
    return {"parameters": count_parameters(model), "macs": macs}


# --- running ------------------------------------------------------------------------------

def load_weights(model, model_dir: Path) -> None:
    """Load every ``*.safetensors`` file of ``model_dir`` into ``model`` (strict)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files = sorted(p for p in model_dir.iterdir() if p.name.endswith(WEIGHT_SUFFIX))
    if not files:
        raise JobFailed("no_weights", "the model has no model.safetensors weights")
    state = {}
    for path in files:
        try:
            state.update(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as error:
            raise JobFailed("bad_weights", f"{path.name} is not a safetensors file ({error}); "
                            "pickle-based weights are never loaded") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise JobFailed("bad_weights", f"the weights do not fit the model built by "
                        f"build(): {str(error)[:600]}") from None


def load_standard(job: dict):
    """A standard-architecture classifier from ``config.json`` + safetensors, no code
    (``random_weights``, set by the platform for its reference: initialised from the seed)."""
    from evaluator.cost.architectures import offline_transformers

    transformers = offline_transformers()
    if job.get("random_weights"):
        config = transformers.AutoConfig.from_pretrained(job["model_dir"],
                                                         num_labels=job["num_labels"])
        return transformers.AutoModelForSequenceClassification.from_config(config).eval()
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            job["model_dir"], num_labels=job["num_labels"], use_safetensors=True,
            trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise JobFailed("bad_weights", f"cannot load the model: {str(error)[:600]}") from None
    return model.eval()


def standard_step(model, regression: bool):
    def step(ids, mask):
        logits = model(input_ids=ids, attention_mask=mask).logits
        return (logits[:, 0] if regression else logits.argmax(-1)), None
    return step


def custom_step(module: ModuleType, model, threshold: float | None):
    def step(ids, mask):
        result = module.predict(model, ids, mask, threshold)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise JobFailed("model_interface", "predict() must return a tuple "
                            "(labels, exit_layers)")
        return result
    return step


AUTOCAST = {"bf16": "bfloat16", "fp16": "float16"}


def load_model(job: dict) -> tuple[ModuleType | None, object]:
    """The job's model on its device with its weights: ``(model.py's module or None for a
    standard architecture, the torch module)``."""
    import torch

    torch.manual_seed(0)  # a standard model's new classifier head, if any, is reproducible
    torch.set_float32_matmul_precision("highest")  # fp32 means fp32: no TF32 on a GPU
    device = job.get("device", "cpu")
    if not job["custom"]:
        return None, load_standard(job).to(device)
    model_dir = Path(job["model_dir"])
    module = import_model_code(model_dir)
    if not callable(getattr(module, "predict", None)):
        raise JobFailed("model_interface", f"{MODEL_CODE} defines no function predict()")
    model = build(module, job["num_labels"], device)
    load_weights(model, model_dir)
    return module, model


def model_step(job: dict, module: ModuleType | None, model, threshold: float | None):
    """The step running ``model`` at ``threshold``, under autocast for a declared dtype."""
    step = (custom_step(module, model, threshold) if job["custom"]
            else standard_step(model, job["regression"]))
    dtype = job.get("dtype", "fp32")
    if dtype == "fp32":
        return step
    import torch

    device_type = "cuda" if job.get("device", "cpu").startswith("cuda") else "cpu"
    precision = getattr(torch, AUTOCAST[dtype])

    def at_precision(ids, mask):
        with torch.autocast(device_type, dtype=precision):
            return step(ids, mask)
    return at_precision


def read_sequences(path: str) -> list[np.ndarray]:
    """The token ids of every example, from the ``ids``/``offsets`` arrays at ``path``."""
    inputs = np.load(path, allow_pickle=False)
    ids, offsets = inputs["ids"], inputs["offsets"]
    return [ids[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def run_model_job(job: dict) -> dict[str, np.ndarray]:
    """Predictions (and exit layers) for every threshold, as arrays named per threshold."""
    sequences = read_sequences(job["inputs"])
    module, model = load_model(job)
    arrays = {}
    for i, threshold in enumerate(job["thresholds"]):
        step = model_step(job, module, model, threshold)
        labels, exits = run_batches(step, sequences, job["pad_id"],
                                    job.get("token_budget", DEFAULT_TOKEN_BUDGET),
                                    _reporter(threshold), job.get("device", "cpu"))
        arrays[f"labels_{i}"] = labels
        if exits is not None:
            arrays[f"exits_{i}"] = exits
    return arrays


def _reporter(threshold: float | None):
    name = "static" if threshold is None else f"threshold {threshold:g}"
    shown = {"last": -1}

    def report(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth != shown["last"]:
            shown["last"] = tenth
            progress(f"{name}: {done:,} of {total:,} examples")
    return report
