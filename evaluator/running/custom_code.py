"""The host side of submitted models: counting custom code and running models, sandboxed.

Three services for ``evaluator.evaluate``, each starting ``python -m evaluator.running.sandboxed``
through ``evaluator.running.sandbox`` with only the model's own files and, to run it, the token ids
of the test inputs it needs (never texts with labels):

- ``count_custom``: a ``model.py``'s parameters and MACs per example, at each token length
  and exit layer the submission's points need (fitted per exit layer, as
  ``evaluator.cost.per_example`` does for standard architectures);
- ``run_model``: a model's predictions (and exit layers) per threshold (SPEC §2 kind 4);
- ``agreement``: how a kind-3 submission's files compare with a re-run on a random sample.

    >>> cost = count_custom(model, lengths_by_task, exits_needed, options)["mrpc"]
    >>> point_cost_of(cost, lengths, exit_layers).mean_mflops
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.bundle.model_files import DEFAULT_DTYPE, ModelDefinition
from evaluator.cost.per_example import PointCost
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET
from evaluator.running.devices import Device
from evaluator.running.sandbox import (
    SandboxPolicy,
    SandboxUnavailable,
    read_scratch_file,
    run_sandboxed,
)

SUBMISSION = "/submission"
INPUTS = "/inputs"
MAX_EXIT_LAYERS = 48
MAX_RESULT_BYTES = 256 * 1024 * 1024  # the sandbox's file-size limit bounds them anyway
# The sandbox writes its progress file itself (so might the model's code): at most this many
# lines per run reach the submission's log, ~10 per threshold from the runner.
MAX_PROGRESS_LINES = 200
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelRunOptions:
    """How submitted models are counted and run: sandbox limits, inference batch size in
    tokens, the size and seed of the re-run sample checking a kind-3 submission, and the
    device models run on (counting always runs on the CPU)."""

    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    token_budget: int = DEFAULT_TOKEN_BUDGET
    sample_size: int = 200
    seed: int = 0
    device: Device = field(default_factory=Device)


class ModelCodeFailed(EvaluationFailed):
    """Submitter code failed in the sandbox; the message says how, for the submitter."""


# --- sandbox plumbing ---------------------------------------------------------------------

def model_binds(model: ModelDefinition, scratch: Path) -> dict[Path, str]:
    """A copy of just the model's files (no other bundle file), bound read-only."""
    copy = scratch / "submission"
    copy.mkdir()
    for name in model.files:
        shutil.copyfile(model.directory / name, copy / name)
    return {copy: SUBMISSION}


def model_policy(model: ModelDefinition, options: ModelRunOptions,
                 on_device: bool) -> SandboxPolicy:
    """The sandbox policy for ``model``: with the device's nodes when it runs ``on_device``
    (a GPU), and allowed without a sandbox when it runs no submitter code."""
    policy = options.policy
    device = options.device
    if on_device and device.is_cuda:
        policy = replace(policy, devices=device.nodes, library_dirs=device.library_dirs,
                         environment=tuple(device.sandbox_environment().items()))
    # A standard architecture runs no submitter code: without a sandbox it still runs.
    return policy if model.is_custom else replace(policy, allow_unsandboxed=True)


def model_job(model: ModelDefinition, task: TaskSpec, thresholds: Sequence[float | None],
              pad_id: int, options: ModelRunOptions) -> dict:
    """What a ``run`` or ``serve`` job says about the model and where it runs."""
    return {"model_dir": SUBMISSION, "custom": model.is_custom, "num_labels": task.num_labels,
            "regression": task.is_regression, "thresholds": list(thresholds), "pad_id": pad_id,
            "device": options.device.kind,
            "dtype": model.manifest.dtype if model.manifest else DEFAULT_DTYPE}


def _sandbox(job: dict, model: ModelDefinition, options: ModelRunOptions, what: str,
             extra_binds: dict[Path, str] | None = None,
             progress: Progress | None = None) -> Path:
    """Run ``job`` in a fresh sandbox; returns its scratch directory (caller removes it)."""
    work = Path(tempfile.mkdtemp(prefix="elue-model-"))
    scratch = work / "scratch"
    scratch.mkdir()
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    binds = {**model_binds(model, work), **(extra_binds or {})}
    forward = _progress_forwarder(scratch, progress)
    policy = model_policy(model, options, on_device=job["action"] == "run")
    try:
        result = run_sandboxed(["-m", "evaluator.running.sandboxed", "job.json"], scratch, binds,
                               policy, watch=forward)
        forward()
    except SandboxUnavailable as error:
        shutil.rmtree(work, ignore_errors=True)
        raise SubmissionInvalid([Problem("custom_code_unsupported", f"this server cannot "
                                         f"sandbox model code: {error}")]) from None
    except BaseException:  # e.g. the submission was cancelled while it ran
        shutil.rmtree(work, ignore_errors=True)
        raise
    error = reported_error(scratch, policy)
    if error or not result.ok:
        shutil.rmtree(work, ignore_errors=True)
        raise ModelCodeFailed(f"{what}: {error or result.reason}")
    return scratch


def _progress_forwarder(scratch: Path, progress: Progress | None) -> Callable[[], None]:
    seen = {"lines": 0}

    def forward() -> None:
        data = read_scratch_file(scratch / "progress.log", 1_000_000)
        if progress is None or data is None:
            return
        lines = data.decode("utf-8", "replace").splitlines()[:MAX_PROGRESS_LINES]
        for line in lines[seen["lines"]:]:
            progress(line[:200])
        seen["lines"] = len(lines)
    return forward


def reported_error(scratch: Path, policy: SandboxPolicy) -> str | None:
    """The sandbox side's own explanation (``error.json``), if it left a readable one."""
    data = read_scratch_file(scratch / "error.json", 100_000)
    if data is None:
        return None
    try:
        error = json.loads(data.decode("utf-8"))
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return None
    if code == "memory":
        return f"exceeded the memory limit of {policy.memory_mib} MiB"
    if code in ("network", "process", "write_outside_scratch"):
        return f"model.py {message}"
    return message


def _result(path: Path) -> bytes:
    data = read_scratch_file(path, MAX_RESULT_BYTES)
    if data is None:
        raise ValueError(f"{path.name} is missing, not a regular file or too large")
    return data


def _cleanup(scratch: Path) -> None:
    shutil.rmtree(scratch.parent, ignore_errors=True)


# --- counting custom code -----------------------------------------------------------------

@dataclass(frozen=True)
class CustomCost:
    """MACs of a custom model per token length, per exit layer (``"static"``: no exit
    given), and its parameter count (every exit head included)."""

    parameters: int
    macs: dict[str, dict[int, int]]
    num_layers: int | None

    def per_example(self, lengths: np.ndarray, exit_layers: np.ndarray | None) -> np.ndarray:
        """MACs of each example (int64): at its length and, if dynamic, its exit layer."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if exit_layers is None:
            table = self.macs["static"]
            return np.array([table[int(n)] for n in lengths], dtype=np.int64)
        exits = np.asarray(exit_layers, dtype=np.int64)
        return np.array([self.macs[str(int(k))][int(n)] for n, k in zip(lengths, exits,
                                                                           strict=True)],
                        dtype=np.int64)


def point_cost_of(cost: CustomCost, lengths: np.ndarray,
                  exit_layers: np.ndarray | None = None) -> PointCost:
    """The ELUE statistics of one point of a custom model (as ``cost_model.point_cost``)."""
    per_example = 2 * cost.per_example(lengths, exit_layers) / 1e6
    if exit_layers is None:
        histogram = {cost.num_layers or 0: len(per_example)}
    else:
        values, counts = np.unique(np.asarray(exit_layers, dtype=np.int64), return_counts=True)
        histogram = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    return PointCost(float(per_example.mean()), float(np.median(per_example)),
                     float(np.percentile(per_example, 95)), histogram, cost.parameters / 1e6)


def count_custom(model: ModelDefinition, num_labels: int, lengths: np.ndarray,
                 exit_layers: Sequence[int], static: bool, max_tokens: int,
                 options: ModelRunOptions) -> CustomCost:
    """Count ``model.py``'s model in the sandbox at every length in ``lengths``, for each of
    ``exit_layers`` (and without one if ``static``)."""
    job = {"action": "count", "model_dir": SUBMISSION, "num_labels": num_labels,
           "lengths": sorted({int(n) for n in lengths}), "static": static,
           "exit_layers": sorted({int(k) for k in exit_layers}), "max_tokens": max_tokens}
    scratch = _sandbox(job, model, options, "counting FLOPs of model.py failed")
    try:
        result = json.loads(_result(scratch / "result.json"))
        macs = {key: {int(n): int(v) for n, v in table.items()}
                for key, table in result["macs"].items()}
        return CustomCost(int(result["parameters"]), macs, model.num_layers)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelCodeFailed(f"counting FLOPs of model.py gave no usable result ({error})"
                              ) from None
    finally:
        _cleanup(scratch)


# --- running a model ----------------------------------------------------------------------

@dataclass
class RunOutput:
    """One threshold's output: label indices or regression values, and exit layers."""

    threshold: float | None
    labels: np.ndarray
    exit_layers: np.ndarray | None


def write_inputs(folder: Path, sequences: Sequence[Sequence[int]]) -> None:
    """Token ids as a flat array plus offsets (``ids.npz``, readable without pickle)."""
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sequences])
    ids = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=offsets[-1])
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "ids.npz", ids=ids, offsets=offsets)


def run_model(model: ModelDefinition, task: TaskSpec, sequences: Sequence[Sequence[int]],
              thresholds: Sequence[float | None], pad_id: int, options: ModelRunOptions,
              progress: Progress | None = None) -> list[RunOutput]:
    """Run the model on the token ids ``sequences`` once per threshold, in the sandbox."""
    inputs = Path(tempfile.mkdtemp(prefix="elue-inputs-"))
    inputs.chmod(0o755)  # read by the sandbox's own user
    try:
        write_inputs(inputs, sequences)
        job = {"action": "run", "inputs": f"{INPUTS}/ids.npz",
               "token_budget": options.token_budget,
               **model_job(model, task, thresholds, pad_id, options)}
        scratch = _sandbox(job, model, options, "running the model failed",
                           {inputs: INPUTS}, progress)
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
    try:
        return _read_outputs(scratch / "result.npz", task, thresholds, len(sequences),
                             model.num_layers)
    finally:
        _cleanup(scratch)


def _read_outputs(path: Path, task: TaskSpec, thresholds: Sequence[float | None],
                  count: int, num_layers: int | None) -> list[RunOutput]:
    try:
        arrays = np.load(io.BytesIO(_result(path)), allow_pickle=False)
        outputs = [RunOutput(t, np.asarray(arrays[f"labels_{i}"]),
                             np.asarray(arrays[f"exits_{i}"]) if f"exits_{i}" in arrays
                             else None) for i, t in enumerate(thresholds)]
    except (OSError, ValueError, KeyError) as error:
        raise ModelCodeFailed(f"running the model gave no usable result ({error})") from None
    for output in outputs:
        _check_output(output, task, count, num_layers)
    return outputs


def _check_output(output: RunOutput, task: TaskSpec, count: int,
                  num_layers: int | None) -> None:
    where = "static" if output.threshold is None else f"threshold {output.threshold:g}"
    if output.labels.shape != (count,):
        raise ModelCodeFailed(f"{where}: {output.labels.size} predictions for {count} examples")
    if not task.is_regression and not np.isin(output.labels, np.arange(task.num_labels)).all():
        raise ModelCodeFailed(f"{where}: predicted labels must be 0..{task.num_labels - 1}")
    if output.exit_layers is not None:
        top = num_layers or MAX_EXIT_LAYERS
        if output.exit_layers.shape != (count,) or not np.isin(
                output.exit_layers, np.arange(1, top + 1)).all():
            raise ModelCodeFailed(f"{where}: exit layers must be whole numbers in 1..{top}, "
                                  "one per example")


def prediction_strings(task: TaskSpec, labels: np.ndarray) -> list[str]:
    """Predictions as a prediction file writes them: label strings, STS-B clipped to 0..5."""
    if task.is_regression:
        low, high = task.label_range
        return [f"{float(v):.6g}" for v in np.clip(labels.astype(np.float64), low, high)]
    return [task.labels[int(v)] for v in labels]


# --- agreement of a kind-3 submission with a re-run ---------------------------------------

@dataclass(frozen=True)
class Agreement:
    """A re-run sample compared with the submitted files: examples checked, and the
    percentage of predictions and of exit layers (``None`` for a static point) that match."""

    examples: int
    predictions: float
    exit_layers: float | None


def sample_indices(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct example indices out of ``size``, sorted, reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(size, size=min(count, size), replace=False))


def agreement(task: TaskSpec, submitted: Sequence[str], submitted_exits: Sequence[int] | None,
              indices: np.ndarray, output: RunOutput) -> Agreement:
    """Compare the submitted predictions (all examples) with a re-run of ``indices``."""
    rerun = prediction_strings(task, output.labels)
    if task.is_regression:  # a few ulps of float noise between machines are not a mismatch
        same = [abs(float(submitted[i]) - float(r)) <= 1e-3 for i, r in zip(indices, rerun,
                                                                            strict=True)]
    else:
        same = [submitted[i] == r for i, r in zip(indices, rerun, strict=True)]
    exits = None
    if submitted_exits is not None and output.exit_layers is not None:
        exits = 100.0 * float(np.mean(np.asarray(submitted_exits)[indices] == output.exit_layers))
    return Agreement(len(indices), 100.0 * float(np.mean(same)), exits)
