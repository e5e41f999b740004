"""The jobs the sandbox runs, and running a standard architecture.

A job is a JSON object (written by ``evaluator.running.custom_code`` and ``model_runs``);
its ``action`` picks:

- ``capture`` (``capture``): import ``model.py`` and capture its graphs, the only job that
  runs submitted code;
- ``count_graphs`` and ``run_graphs`` (``graph_jobs``): count and run captured graphs, in a
  sandbox without the submitted code;
- ``run`` (here): run a standard architecture from ``config.json`` and safetensors weights,
  no submitted code::

    {"action": "run", "model_dir": "/submission", "num_labels": 2,
     "inputs": "/inputs/ids.npz", "thresholds": [null], "token_budget": 8192, "pad_id": 0,
     "pad_type_id": 0}

``ids.npz`` holds the token ids and, when the tokenizer gives them, the segment ids
(``evaluator.running.model_inputs``). ``capture`` and ``count_graphs`` write
``result.json``; ``run`` and ``run_graphs`` write ``result.npz`` with ``labels_i`` (and
``exits_i``) per point ``i`` and append progress lines to ``progress.log``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluator.running.batching import DEFAULT_TOKEN_BUDGET, run_batches
from evaluator.running.model_inputs import SEGMENTS, accepts_segments, read_inputs
from evaluator.running.sandboxed.capture import capture_job
from evaluator.running.sandboxed.graph_jobs import count_graphs_job, load_weights, run_graphs_job
from evaluator.running.sandboxed.protocol import JobFailed, fresh, reporter

JSON_JOBS = {"capture": capture_job, "count_graphs": count_graphs_job}


def run_job(job: dict) -> None:
    action = job["action"]
    if action in JSON_JOBS:
        result = json.dumps(JSON_JOBS[action](job))
        fresh("result.json").write_text(result, encoding="utf-8")
    elif action in ("run", "run_graphs"):
        arrays = run_model_job(job) if action == "run" else run_graphs_job(job)
        # numpy's stubs type **kwds as its keyword-only allow_pickle: bool.
        np.savez(fresh("result.npz"), **arrays)  # type: ignore[arg-type]
    else:
        raise JobFailed("bad_job", f"unknown action {action!r}")


# --- running a standard architecture ------------------------------------------------------

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


def load_pruned(job: dict, raw: dict):
    """A model with pruned heads: transformers 5 cannot load its smaller weights itself, so
    it is built and pruned as the counter builds it, then given its weights (strict)."""
    from evaluator.cost.architectures import build_model, config_from_dict

    model = build_model(config_from_dict(raw, job["num_labels"]), attn_implementation="sdpa",
                        device="cpu")
    try:
        model.load_state_dict(load_weights(Path(job["model_dir"])), strict=True)
    except RuntimeError as error:
        raise JobFailed("bad_weights", f"the weights do not fit the pruned model of "
                        f"config.json: {str(error)[:600]}") from None
    return model.eval()


def standard_step(model, regression: bool):
    # Segment ids go in as a plain transformers loop passes them: whenever the tokenizer gave
    # them and the architecture names them (DistilBERT, MPNet and ModernBERT do not; their
    # **kwargs lead elsewhere).
    segments = accepts_segments(model.forward, through_keywords=False)

    def step(ids, mask, types):
        extra = {SEGMENTS: types} if segments and types is not None else {}
        logits = model(input_ids=ids, attention_mask=mask, **extra).logits
        return (logits[:, 0] if regression else logits.argmax(-1)), None
    return step


def run_model_job(job: dict) -> dict[str, np.ndarray]:
    """Predictions of a standard architecture (one static point), as ``labels_0``."""
    import torch

    torch.manual_seed(0)  # a standard model's new classifier head, if any, is reproducible
    sequences, segments = read_inputs(job["inputs"])
    model = load_standard(job)
    arrays = {}
    for i, threshold in enumerate(job["thresholds"]):
        labels, exits = run_batches(standard_step(model, job["regression"]), sequences,
                                    job["pad_id"], job.get("token_budget", DEFAULT_TOKEN_BUDGET),
                                    reporter(threshold), segments, job.get("pad_type_id", 0))
        arrays[f"labels_{i}"] = labels
        if exits is not None:
            arrays[f"exits_{i}"] = exits
    return arrays
