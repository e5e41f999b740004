"""Running a model on test inputs in the sandbox, and checking what it predicted: a standard
architecture from its files (``run_model``, no submitted code at all), or a submitted model
from its captured graphs and weights (``run_captured``, in a sandbox that never sees the
code); SPEC §2 kind 4, and kind 3's re-run."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.bundle.model_files import ModelDefinition
from evaluator.running.custom_code import CapturedModel
from evaluator.running.model_inputs import INPUTS_FILE, TokenIds, write_inputs
from evaluator.running.model_sandbox import (
    GRAPHS,
    INPUTS,
    SUBMISSION,
    WEIGHT_SUFFIX,
    WEIGHTS,
    ModelCodeFailed,
    ModelRunOptions,
    Progress,
    cleanup,
    copy_files,
    model_binds,
    read_result,
    result_bytes,
    run_job,
)

MAX_EXIT_LAYERS = 48



@dataclass
class RunOutput:
    """One threshold's output: label indices or regression values, and exit layers."""

    threshold: float | None
    labels: np.ndarray
    exit_layers: np.ndarray | None


def _with_inputs(tokens: TokenIds, run: Callable[[Path], Path],
                 options: ModelRunOptions) -> Path:
    """``run(folder)`` with the token and segment ids written to ``folder`` (removed
    afterwards)."""
    inputs = Path(tempfile.mkdtemp(prefix="elue-inputs-", dir=options.work_dir))
    inputs.chmod(0o755)  # read by the sandbox's own user
    try:
        write_inputs(inputs, tokens)
        return run(inputs)
    finally:
        shutil.rmtree(inputs, ignore_errors=True)


def _padding(tokens: TokenIds) -> dict[str, int]:
    return {"pad_id": tokens.pad_id, "pad_type_id": tokens.pad_type_id}


def run_model(model: ModelDefinition, task: TaskSpec, tokens: TokenIds,
              thresholds: Sequence[float | None], options: ModelRunOptions,
              progress: Progress | None = None) -> list[RunOutput]:
    """Run a standard architecture (``config.json`` and weights, no code) on the test
    inputs ``tokens``, in the sandbox."""
    work = Path(tempfile.mkdtemp(prefix="elue-standard-", dir=options.work_dir))
    job = {"action": "run", "model_dir": SUBMISSION, "num_labels": task.num_labels,
           "regression": task.is_regression, "inputs": f"{INPUTS}/{INPUTS_FILE}",
           "thresholds": list(thresholds), "token_budget": options.token_budget,
           **_padding(tokens)}
    try:
        scratch = _with_inputs(tokens, lambda inputs: run_job(
            job, {**model_binds(model, work), inputs: INPUTS}, options,
            "running the model failed", code=False, progress=progress), options)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _outputs(scratch, task, thresholds, len(tokens.ids), model.num_layers)


def run_captured(captured: CapturedModel, task: TaskSpec, tokens: TokenIds,
                 thresholds: Sequence[float | None], options: ModelRunOptions,
                 progress: Progress | None = None) -> list[RunOutput]:
    """Run the captured graphs with the submitted weights on ``tokens``, once per
    threshold (``None``: the static graph), in a sandbox without the submitted code."""
    plan, model = captured.plan, captured.model
    weights = [model.directory / n for n in model.weight_files if n.endswith(WEIGHT_SUFFIX)]
    work = Path(tempfile.mkdtemp(prefix="elue-weights-", dir=options.work_dir))
    points = [{"threshold": None} if t is None else
              {"threshold": t, "predict": plan.predict_name(t)} for t in thresholds]
    job = {"action": "run_graphs", "graphs_dir": GRAPHS, "weights_dir": WEIGHTS,
           "num_labels": task.num_labels, "regression": task.is_regression,
           "inputs": f"{INPUTS}/{INPUTS_FILE}", "points": points,
           "num_layers": model.num_layers, "token_budget": options.token_budget,
           **_padding(tokens)}
    try:
        binds = {captured.directory: GRAPHS, copy_files(weights, work / "weights"): WEIGHTS}
        scratch = _with_inputs(tokens, lambda inputs: run_job(
            job, {**binds, inputs: INPUTS}, options, "running the model failed", code=True,
            progress=progress), options)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _outputs(scratch, task, thresholds, len(tokens.ids), model.num_layers)


def _outputs(scratch: Path, task: TaskSpec, thresholds: Sequence[float | None], count: int,
             num_layers: int | None) -> list[RunOutput]:
    try:
        return read_result("running the model", lambda: _read_outputs(
            scratch / "result.npz", task, thresholds, count, num_layers))
    finally:
        cleanup(scratch)


def _read_outputs(path: Path, task: TaskSpec, thresholds: Sequence[float | None],
                  count: int, num_layers: int | None) -> list[RunOutput]:
    arrays = np.load(io.BytesIO(result_bytes(path)), allow_pickle=False)
    outputs = [RunOutput(t, np.asarray(arrays[f"labels_{i}"]),
                         np.asarray(arrays[f"exits_{i}"]) if f"exits_{i}" in arrays
                         else None) for i, t in enumerate(thresholds)]
    for output in outputs:
        _check_output(output, task, count, num_layers)
    return outputs


def _check_output(output: RunOutput, task: TaskSpec, count: int,
                  num_layers: int | None) -> None:
    where = "static" if output.threshold is None else f"threshold {output.threshold:g}"
    if output.labels.shape != (count,) or output.labels.dtype.kind not in "iuf":
        raise ModelCodeFailed(f"{where}: {output.labels.size} predictions for {count} examples")
    if not np.all(np.isfinite(output.labels.astype(np.float64))):
        raise ModelCodeFailed(f"{where}: predictions that are not finite numbers")
    if not task.is_regression and not np.isin(output.labels, np.arange(task.num_labels)).all():
        raise ModelCodeFailed(f"{where}: predicted labels must be 0..{task.num_labels - 1}")
    if output.exit_layers is not None:
        top = num_layers or MAX_EXIT_LAYERS
        if output.exit_layers.shape != (count,) or output.exit_layers.dtype.kind not in "iu" \
                or not np.isin(output.exit_layers, np.arange(1, top + 1)).all():
            raise ModelCodeFailed(f"{where}: exit layers must be whole numbers in 1..{top}, "
                                  "one per example")


def prediction_strings(task: TaskSpec, labels: np.ndarray) -> list[str]:
    """Predictions as a prediction file writes them: label strings, STS-B clipped to 0..5."""
    if task.labels is None:  # regression (``task.is_regression``)
        assert task.label_range is not None  # every regression task has a label range
        low, high = task.label_range
        return [f"{float(v):.6g}" for v in np.clip(labels.astype(np.float64), low, high)]
    return [task.labels[int(v)] for v in labels]
