"""The host side of submitted model code: capturing its graphs and counting them, sandboxed.

Submitted code is imported in one place only, a sandbox that captures its graphs
(``capture``). Everything the platform reports about the model then comes from those graphs,
in sandboxes that never see the code:

- ``count_captured``: parameters and MACs per example, at each token length, for the static
  graph and each exit layer's graph (``evaluator.cost.graph_count``);
- ``model_runs.run_captured``: predictions (and exit layers) per point, computed by the same
  graphs with the submitted weights (SPEC §2 kind 4, and kind 3's re-run);
- ``agreement``: how a kind-3 submission's files compare with a re-run on a random sample.

The sandbox runs themselves, the checks of what they leave and the evaluation's sandbox time
budget are in ``model_sandbox``.

    >>> graphs = capture(model, GraphPlan(2, True, (1, 2), (), 512), options)
    >>> cost = count_captured(graphs, lengths, options)
    >>> point_cost_of(cost, lengths, exit_layers).mean_mflops
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.bundle.archive import check_directory_size
from evaluator.bundle.archive_limits import ArchiveLimits
from evaluator.bundle.model_files import ModelDefinition
from evaluator.cost.captured_graph import GRAPH_SUFFIX, MAX_GRAPH_BYTES, TENSORS_SUFFIX
from evaluator.cost.per_example import PointCost
from evaluator.running.model_sandbox import (
    GRAPHS,
    SUBMISSION,
    ModelRunOptions,
    Progress,
    cleanup,
    model_binds,
    read_result,
    result_bytes,
    run_job,
)
from evaluator.running.sandbox_limits import GRAPHS_ARCHIVE

MAX_PARAMETERS = 10 ** 12
MAX_MACS = 10 ** 16  # per example: far above any model a sandbox can hold


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
        scratch = run_job(job, model_binds(model, work), options,
                           "capturing model.py failed", code=True, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix="elue-graphs-", dir=options.work_dir))
    directory.chmod(0o755)
    try:
        read_result("capturing model.py", lambda: _take_graphs(scratch, plan, directory,
                                                         options.policy.file_mib))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        cleanup(scratch)
    return CapturedModel(model, plan, directory)


def _take_graphs(scratch: Path, plan: GraphPlan, directory: Path, file_mib: int) -> None:
    """Copy each expected graph file out of scratch, bounded, refusing links and strays."""
    listed = json.loads(result_bytes(scratch / "result.json", 100_000))
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
    scratch = run_job(job, {captured.directory: GRAPHS}, options,
                       "counting the captured graphs failed", code=True)
    try:
        return read_result("counting the captured graphs", lambda: _parse_counts(
            result_bytes(scratch / "result.json", 10 * 1024 * 1024), counted, wanted,
            captured.model.num_layers))
    finally:
        cleanup(scratch)


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
