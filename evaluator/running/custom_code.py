"""The host side of submitted models: capturing, counting and running them, sandboxed.

Submitted code is imported in one place only, a sandbox that captures its graphs
(``capture``). Everything the platform reports about the model then comes from those graphs,
in sandboxes that never see the code:

- ``count_captured``: parameters and MACs per example, at each token length, for the static
  graph and each exit layer's graph (``evaluator.cost.graph_count``);
- ``run_captured``: predictions (and exit layers) per point, computed by the same graphs
  with the submitted weights (SPEC §2 kind 4, and kind 3's re-run);
- ``run_model``: a standard architecture's predictions (no submitted code at all);
- ``agreement``: how a kind-3 submission's files compare with a re-run on a random sample.

Every file a sandbox leaves is read with bounds and checked (types, ranges, sizes); one that
is missing, malformed or out of range fails the submission as the model's failure
(``ModelCodeFailed``), as does a run stopped by the time limits. A ``SandboxBudget`` bounds
the sandbox time of one evaluation.

    >>> graphs = capture(model, GraphPlan(2, True, (1, 2), (), 512), options)
    >>> cost = count_captured(graphs, lengths, options)
    >>> point_cost_of(cost, lengths, exit_layers).mean_mflops
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.bundle.archive import ArchiveLimits, check_directory_size
from evaluator.bundle.model_files import ModelDefinition
from evaluator.cost.captured_graph import GRAPH_SUFFIX, MAX_GRAPH_BYTES, TENSORS_SUFFIX
from evaluator.cost.per_example import PointCost
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET
from evaluator.running.model_inputs import INPUTS_FILE, TokenIds, write_inputs
from evaluator.running.sandbox import (
    SandboxPolicy,
    SandboxResult,
    SandboxUnavailable,
    read_scratch_file,
    run_sandboxed,
)
from evaluator.running.sandbox_limits import GRAPHS_ARCHIVE, scratch_full_reason

SUBMISSION = "/submission"
INPUTS = "/inputs"
GRAPHS = "/graphs"
WEIGHTS = "/weights"
MAX_EXIT_LAYERS = 48
MAX_RESULT_BYTES = 256 * 1024 * 1024  # the sandbox's file-size limit bounds them anyway
MAX_PARAMETERS = 10 ** 12
MAX_MACS = 10 ** 16  # per example: far above any model a sandbox can hold
# The sandbox writes its progress file itself (so might the model's code): at most this many
# lines per run reach the submission's log, ~10 per threshold from the runner.
MAX_PROGRESS_LINES = 200
WEIGHT_SUFFIX = ".safetensors"
Progress = Callable[[str], None]


class ModelCodeFailed(EvaluationFailed):
    """The submitted model failed, or something it may have caused went wrong: it ran out
    of time, or a sandbox's result was missing or malformed. Counts against the quota."""


class SandboxBudget:
    """Sandbox seconds one evaluation may still use, shared by all its sandbox runs, so
    that an evaluation ends (as the submitter's failure) before the task's time limit."""

    def __init__(self, seconds: float):
        self.total = float(seconds)
        self.spent = 0.0
        self.ran_code = False  # whether a sandbox met submitted code or its graphs

    @property
    def left(self) -> float:
        return self.total - self.spent

    def policy(self, policy: SandboxPolicy) -> SandboxPolicy:
        """``policy`` with its wall time cut to what is left; fails once nothing is."""
        if self.left <= 0:
            raise ModelCodeFailed(self.exhausted())
        return replace(policy, wall_seconds=min(policy.wall_seconds, self.left))

    def spend(self, seconds: float) -> None:
        self.spent += seconds

    def exhausted(self) -> str:
        return (f"the model used up the sandbox time of one submission ({self.total:g} s in "
                "all, capturing, counting and running) and was stopped")


@dataclass(frozen=True)
class ModelRunOptions:
    """How submitted models are counted and run: sandbox limits, inference batch size in
    tokens, the size and seed of the re-run sample checking a kind-3 submission, and the
    sandbox time budget of the evaluation (``None``: only each run's wall time).
    Temporary files go under ``work_dir`` (the system's temporary folder if ``None``);
    ``check_stop``, called about once a second while a sandbox runs, raises to stop it
    (the submission was cancelled)."""

    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    token_budget: int = DEFAULT_TOKEN_BUDGET
    sample_size: int = 200
    seed: int = 0
    budget: SandboxBudget | None = None
    work_dir: Path | None = None
    check_stop: Callable[[], None] | None = None


# --- sandbox plumbing ---------------------------------------------------------------------

def _copy_files(files: Sequence[Path], into: Path) -> Path:
    """A read-only copy of ``files`` in a fresh directory ``into`` (bound into a sandbox)."""
    into.mkdir()
    into.chmod(0o755)
    for path in files:
        shutil.copyfile(path, into / path.name)
        (into / path.name).chmod(0o644)
    return into


def _model_binds(model: ModelDefinition, work: Path) -> dict[Path, str]:
    """A copy of just the model's files (no other bundle file), bound read-only."""
    return {_copy_files([model.directory / n for n in model.files], work / "submission"):
            SUBMISSION}


def _sandbox(job: dict, binds: dict[Path, str], options: ModelRunOptions, what: str,
             code: bool, progress: Progress | None = None) -> Path:
    """Run ``job`` in a fresh sandbox with ``binds``; returns its scratch directory (the
    caller removes it with ``_cleanup``). ``code``: the job may meet submitter-made input
    (a ``model.py``, its graphs), so it runs only where the host can sandbox."""
    policy = options.policy if code else replace(options.policy, allow_unsandboxed=True)
    if options.budget is not None:
        policy = options.budget.policy(policy)
        options.budget.ran_code = options.budget.ran_code or code
    work = Path(tempfile.mkdtemp(prefix="elue-model-", dir=options.work_dir))
    scratch = work / "scratch"
    scratch.mkdir()
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    forward = _progress_forwarder(scratch, progress)

    def watch() -> None:
        forward()
        if options.check_stop is not None:
            options.check_stop()

    try:
        result = run_sandboxed(["-m", "evaluator.running.sandboxed", "job.json"], scratch, binds,
                               policy, watch=watch)
        forward()
    except SandboxUnavailable as error:
        shutil.rmtree(work, ignore_errors=True)
        raise SubmissionInvalid([Problem("custom_code_unsupported", f"this server cannot "
                                         f"sandbox model code: {error}")]) from None
    except BaseException:  # e.g. the submission was cancelled while it ran
        shutil.rmtree(work, ignore_errors=True)
        raise
    if options.budget is not None:
        options.budget.spend(result.seconds)
    failure = _reported_error(scratch, policy) or _stopped(result, policy, options)
    if failure:
        shutil.rmtree(work, ignore_errors=True)
        raise ModelCodeFailed(f"{what}: {failure}")
    return scratch


def _stopped(result: SandboxResult, policy: SandboxPolicy, options: ModelRunOptions
             ) -> str | None:
    """Why the run failed, naming the evaluation's budget when that is what stopped it."""
    budget = options.budget
    if result.timed_out and budget is not None and policy.wall_seconds < \
            options.policy.wall_seconds:
        return budget.exhausted()
    return result.reason


def _progress_forwarder(scratch: Path, progress: Progress | None) -> Callable[[], None]:
    seen = {"lines": 0}

    def forward() -> None:
        data = read_scratch_file(scratch / "progress.log", 1_000_000)
        if progress is None or data is None:
            return
        lines = data.decode("utf-8", "replace").splitlines()[:MAX_PROGRESS_LINES]
        for line in lines[seen["lines"]:]:
            progress(printable(line[:200]))
        seen["lines"] = len(lines)
    return forward


def printable(text: str) -> str:
    """``text`` without control characters (a NUL byte would fail a PostgreSQL write)."""
    return "".join(c if c.isprintable() or c == "\n" else " " for c in text)


def _reported_error(scratch: Path, policy: SandboxPolicy) -> str | None:
    """The sandbox side's own explanation (``error.json``), if it left a readable one."""
    data = read_scratch_file(scratch / "error.json", 100_000)
    if data is None:
        return None
    try:
        error = json.loads(data.decode("utf-8"))
        code, message = str(error["code"]), printable(str(error["message"])[:2000])
    except Exception:  # noqa: BLE001 - a file the model's code may have written
        return None
    if code == "memory":
        return f"exceeded the memory limit of {policy.memory_mib} MiB"
    full = scratch_full_reason(message, policy.scratch_mib)
    if full:
        return full
    if code in ("network", "process", "write_outside_scratch"):
        return f"model.py {message}"
    return message


def _result(path: Path, limit: int = MAX_RESULT_BYTES) -> bytes:
    data = read_scratch_file(path, limit)
    if data is None:
        raise ValueError(f"{path.name} is missing, not a regular file or too large")
    return data


def _read(what: str, read: Callable[[], object]):
    """``read()``, any failure of it the model's (it may have written or spoilt the file)."""
    try:
        return read()
    except ModelCodeFailed:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a spoilt result file raises
        raise ModelCodeFailed(f"{what} gave no usable result ({type(error).__name__}: "
                              f"{str(error)[:300]})") from None


def _cleanup(scratch: Path) -> None:
    shutil.rmtree(scratch.parent, ignore_errors=True)


# --- capturing ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GraphPlan:
    """The graphs to capture for one number of labels: the static model, the model at each
    of ``exits``, ``predict`` at each of ``thresholds``; lengths up to ``max_tokens``; with
    ``segments``, segment ids as an input where ``forward`` or ``predict`` takes them."""

    num_labels: int
    static: bool
    exits: tuple[int, ...]
    thresholds: tuple[float, ...]
    max_tokens: int
    segments: bool = False

    @property
    def names(self) -> list[str]:
        return ((["static"] if self.static else []) + [f"exit-{k}" for k in self.exits]
                + [f"predict-{i}" for i in range(len(self.thresholds))])

    def predict_name(self, threshold: float) -> str:
        return f"predict-{self.thresholds.index(threshold)}"


@dataclass
class CapturedModel:
    """A model's graphs for one plan, checked copies in a directory of the host's (the
    sandbox's own files are gone), and the model whose weights they run with."""

    model: ModelDefinition
    plan: GraphPlan
    directory: Path

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def capture(model: ModelDefinition, plan: GraphPlan, options: ModelRunOptions,
            progress: Progress | None = None) -> CapturedModel:
    """Capture ``plan``'s graphs of ``model.py`` in the sandbox (the one run of its code)."""
    work = Path(tempfile.mkdtemp(prefix="elue-capture-", dir=options.work_dir))
    job = {"action": "capture", "model_dir": SUBMISSION, "num_labels": plan.num_labels,
           "max_tokens": plan.max_tokens, "static": plan.static, "exits": list(plan.exits),
           "thresholds": list(plan.thresholds), "segments": plan.segments, "out": "graphs"}
    try:
        scratch = _sandbox(job, _model_binds(model, work), options,
                           "capturing model.py failed", code=True, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix="elue-graphs-", dir=options.work_dir))
    directory.chmod(0o755)
    try:
        _read("capturing model.py", lambda: _take_graphs(scratch, plan, directory,
                                                         options.policy.file_mib))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        _cleanup(scratch)
    return CapturedModel(model, plan, directory)


def _take_graphs(scratch: Path, plan: GraphPlan, directory: Path, file_mib: int) -> None:
    """Copy each expected graph file out of scratch, bounded, refusing links and strays."""
    listed = json.loads(_result(scratch / "result.json", 100_000))
    if not isinstance(listed, dict) or listed.get("graphs") != plan.names:
        raise ValueError("the capture did not list the graphs asked for")
    archive_path = scratch / GRAPHS_ARCHIVE
    if archive_path.is_symlink() or not archive_path.is_file():
        raise ValueError(f"{GRAPHS_ARCHIVE} is missing or not a regular file")
    # Written by the sandbox, so hostile like an upload: its entry count is bounded before
    # zipfile builds an object per entry.
    check_directory_size(archive_path, ArchiveLimits(max_members=2 * len(plan.names)))
    with zipfile.ZipFile(archive_path) as archive:
        for name in plan.names:
            for suffix, limit in ((GRAPH_SUFFIX, MAX_GRAPH_BYTES),
                                  (TENSORS_SUFFIX, file_mib * 1024 * 1024)):
                target = directory / f"{name}{suffix}"
                target.write_bytes(_member(archive, target.name, limit))
                target.chmod(0o644)


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The bytes of ``name`` in ``archive``, read no further than ``limit`` (its header may
    lie about its size)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{name} is missing from {GRAPHS_ARCHIVE}") from None
    if info.file_size > limit:
        raise ValueError(f"{name} is larger than {limit} bytes")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} is larger than {limit} bytes")
    return data


# --- counting -----------------------------------------------------------------------------

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


def count_captured(captured: CapturedModel, lengths: np.ndarray, options: ModelRunOptions
                   ) -> CustomCost:
    """Count the captured static and exit graphs at every length in ``lengths``, in a
    sandbox without the submitted code; check each ``predict`` graph against the whole
    model."""
    plan = captured.plan
    counted = [n for n in plan.names if not n.startswith("predict-")]
    last = f"exit-{max(plan.exits)}" if plan.exits else None
    bounds = {plan.predict_name(t): last for t in plan.thresholds} if last else {}
    wanted = sorted({int(n) for n in lengths})
    job = {"action": "count_graphs", "graphs_dir": GRAPHS, "graphs": counted,
           "bounds": bounds, "lengths": wanted, "max_tokens": plan.max_tokens}
    scratch = _sandbox(job, {captured.directory: GRAPHS}, options,
                       "counting the captured graphs failed", code=True)
    try:
        return _read("counting the captured graphs", lambda: _parse_counts(
            _result(scratch / "result.json", 10 * 1024 * 1024), counted, wanted,
            captured.model.num_layers))
    finally:
        _cleanup(scratch)


def _parse_counts(data: bytes, names: list[str], lengths: list[int],
                  num_layers: int | None) -> CustomCost:
    """The count job's ``result.json``, every field checked."""
    result = json.loads(data)
    parameters = result["parameters"]
    if not _whole(parameters, MAX_PARAMETERS):
        raise ValueError(f"parameters {str(parameters)[:40]} is not a count")
    if not isinstance(result["macs"], dict) or sorted(result["macs"]) != sorted(names):
        raise ValueError("the counts are not of the graphs asked for")
    macs = {}
    for name in names:
        table = result["macs"][name]
        if not isinstance(table, dict) or sorted(table) != sorted(str(n) for n in lengths):
            raise ValueError(f"the counts of {name} are not at the lengths asked for")
        if not all(_whole(v, MAX_MACS) for v in table.values()):
            raise ValueError(f"a count of {name} is not a number of MACs")
        macs["static" if name == "static" else name.removeprefix("exit-")] = {
            int(n): int(v) for n, v in table.items()}
    return CustomCost(int(parameters), macs, num_layers)


def _whole(value: object, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit


def count_custom(model: ModelDefinition, num_labels: int, lengths: np.ndarray,
                 exit_layers: Sequence[int], static: bool, max_tokens: int,
                 options: ModelRunOptions) -> CustomCost:
    """Capture and count ``model.py`` at every length in ``lengths``, for each of
    ``exit_layers`` (and without one if ``static``)."""
    plan = GraphPlan(num_labels, static, tuple(sorted({int(k) for k in exit_layers})), (),
                     max_tokens)
    captured = capture(model, plan, options)
    try:
        return count_captured(captured, lengths, options)
    finally:
        captured.close()


# --- running a model ----------------------------------------------------------------------

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
        scratch = _with_inputs(tokens, lambda inputs: _sandbox(
            job, {**_model_binds(model, work), inputs: INPUTS}, options,
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
        binds = {captured.directory: GRAPHS, _copy_files(weights, work / "weights"): WEIGHTS}
        scratch = _with_inputs(tokens, lambda inputs: _sandbox(
            job, {**binds, inputs: INPUTS}, options, "running the model failed", code=True,
            progress=progress), options)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _outputs(scratch, task, thresholds, len(tokens.ids), model.num_layers)


def _outputs(scratch: Path, task: TaskSpec, thresholds: Sequence[float | None], count: int,
             num_layers: int | None) -> list[RunOutput]:
    try:
        return _read("running the model", lambda: _read_outputs(
            scratch / "result.npz", task, thresholds, count, num_layers))
    finally:
        _cleanup(scratch)


def _read_outputs(path: Path, task: TaskSpec, thresholds: Sequence[float | None],
                  count: int, num_layers: int | None) -> list[RunOutput]:
    arrays = np.load(io.BytesIO(_result(path)), allow_pickle=False)
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


# --- agreement of a kind-3 submission with a re-run ---------------------------------------

@dataclass(frozen=True)
class Agreement:
    """A re-run sample compared with the submitted files: examples checked, and the
    percentage of predictions and of exit layers (``None`` for a static point) that match."""

    examples: int
    predictions: float
    exit_layers: float | None


def sample_indices(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct example indices out of ``size``, sorted, reproducible by ``seed``
    (a secret drawn per evaluation by the worker: a file cannot agree with the model on the
    sample only)."""
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
