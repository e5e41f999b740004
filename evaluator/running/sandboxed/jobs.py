"""The two jobs the sandbox runs: counting a custom model's FLOPs, and running a model.

A job is a JSON object (written by ``evaluator.running.custom_code``)::

    {"action": "count", "model_dir": "/submission", "num_labels": 2,
     "lengths": [9, 14, 31], "exit_layers": [1, 2, 3], "static": false, "max_tokens": 512}
    {"action": "run", "model_dir": "/submission", "custom": true, "num_labels": 2,
     "inputs": "/inputs/ids.npz", "thresholds": [0.1, null], "token_budget": 8192,
     "pad_id": 0, "pad_type_id": 0}

``ids.npz`` holds ``ids`` and, when the tokenizer gives segment ids, ``type_ids`` (flat, one
per token) with ``offsets`` where each example starts. ``count`` writes ``result.json``:
``{"parameters": P, "macs": {"static"|"k": {"L": MACs}}}``; ``run`` writes ``result.npz``
with ``labels_i`` (and ``exits_i``) per threshold ``i`` and appends progress lines to
``progress.log``.
"""

from __future__ import annotations

import importlib.util
import inspect
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
    """A standard-architecture classifier from ``config.json`` + safetensors, no code."""
    from evaluator.cost.architectures import offline_transformers, read_config_json

    raw = read_config_json(Path(job["model_dir"]))
    if raw.get("pruned_heads"):
        return load_pruned(job, raw)
    transformers = offline_transformers()
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            job["model_dir"], num_labels=job["num_labels"], use_safetensors=True,
            trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise JobFailed("bad_weights", f"cannot load the model: {str(error)[:600]}") from None
    return model.eval()


def accepts_segments(function, through_keywords: bool = True) -> bool:
    """Whether ``function`` takes ``token_type_ids``: by name, or (``through_keywords``)
    through ``**kwargs``."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "token_type_ids" or (through_keywords and p.kind is p.VAR_KEYWORD)
               for p in parameters)


def load_pruned(job: dict, raw: dict):
    """A model with pruned heads: transformers 5 cannot load its smaller weights itself, so
    it is built and pruned as the counter builds it, then given its weights (strict)."""
    from evaluator.cost.architectures import build_model, config_from_dict

    model = build_model(config_from_dict(raw, job["num_labels"]), attn_implementation="sdpa",
                        device="cpu")
    load_weights(model, Path(job["model_dir"]))
    return model.eval()


def standard_step(model, regression: bool):
    # Segment ids go in as a plain transformers loop passes them: whenever the tokenizer gave
    # them and the architecture names them (DistilBERT, MPNet and ModernBERT do not; their
    # **kwargs lead elsewhere).
    segments = accepts_segments(model.forward, through_keywords=False)

    def step(ids, mask, types):
        extra = {"token_type_ids": types} if segments and types is not None else {}
        logits = model(input_ids=ids, attention_mask=mask, **extra).logits
        return (logits[:, 0] if regression else logits.argmax(-1)), None
    return step


def custom_step(module: ModuleType, model, threshold: float | None):
    # predict(model, input_ids, attention_mask, threshold, token_type_ids=None); the older
    # four-argument predict() is still called as it was.
    segments = accepts_segments(module.predict)

    def step(ids, mask, types):
        extra = {"token_type_ids": types} if segments else {}
        result = module.predict(model, ids, mask, threshold, **extra)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise JobFailed("model_interface", "predict() must return a tuple "
                            "(labels, exit_layers)")
        return result
    return step


def run_model_job(job: dict) -> dict[str, np.ndarray]:
    """Predictions (and exit layers) for every threshold, as arrays named per threshold."""
    import torch

    torch.manual_seed(0)  # a standard model's new classifier head, if any, is reproducible
    inputs = np.load(job["inputs"], allow_pickle=False)
    offsets = inputs["offsets"]
    sequences = _split(inputs["ids"], offsets)
    segments = _split(inputs["type_ids"], offsets) if "type_ids" in inputs else None
    model_dir = Path(job["model_dir"])
    if job["custom"]:
        module = import_model_code(model_dir)
        if not callable(getattr(module, "predict", None)):
            raise JobFailed("model_interface", f"{MODEL_CODE} defines no function predict()")
        model = build(module, job["num_labels"], "cpu")
        load_weights(model, model_dir)
    else:
        model = load_standard(job)
    arrays = {}
    for i, threshold in enumerate(job["thresholds"]):
        step = (custom_step(module, model, threshold) if job["custom"]
                else standard_step(model, job["regression"]))
        labels, exits = run_batches(step, sequences, job["pad_id"],
                                    job.get("token_budget", DEFAULT_TOKEN_BUDGET),
                                    _reporter(threshold), segments, job.get("pad_type_id", 0))
        arrays[f"labels_{i}"] = labels
        if exits is not None:
            arrays[f"exits_{i}"] = exits
    return arrays


def _split(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _reporter(threshold: float | None):
    name = "static" if threshold is None else f"threshold {threshold:g}"
    shown = {"last": -1}

    def report(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth != shown["last"]:
            shown["last"] = tenth
            progress(f"{name}: {done:,} of {total:,} examples")
    return report
