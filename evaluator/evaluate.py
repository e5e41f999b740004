"""Evaluating a validated bundle against ELUE data: performance, cost and ELUE score per
operating point. The offline checker and the platform's workers both call ``evaluate_bundle``,
so a submitter sees before uploading exactly the numbers the platform will compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evaluator.bundle import Bundle, PointFiles
from evaluator.data import LABELS_FILE, TestSet, load_test_set, task_dir
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid
from evaluator.pareto import Point, overall_score, reference_at
from evaluator.reference_curve import reference_curves

COUNTED = "counted"
DECLARED = "declared"

if TYPE_CHECKING:
    from evaluator.cost_model import CostModel

Progress = Callable[[str], None]


@dataclass
class PointReport:
    """One operating point: performance ×100 (``None`` without labels), MFLOPs (mean over the
    test set, the ELUE figure), MParams, how the cost was obtained, and the difference to the
    reference curve at that cost."""

    task: str
    point: str
    predictions_file: str
    performance: float | None
    mflops: float
    mparams: float | None
    basis: str
    median_mflops: float | None = None
    p95_mflops: float | None = None
    exit_histogram: dict[int, int] | None = None
    difference: float | None = None


@dataclass
class TaskReport:
    task: str
    points: list[PointReport]
    score: float | None = None


@dataclass
class Report:
    tasks: list[TaskReport]
    overall: float | None
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def check_cost_source(bundle: Bundle) -> None:
    """A point needs a cost: counted from a model definition or declared in costs.json."""
    if bundle.model is not None:
        if bundle.model.code_files:
            raise SubmissionInvalid([Problem(
                "custom_code_unsupported",
                "custom model code is not run by this version of the platform; submit a "
                "Hugging Face config.json of a standard architecture, or declare the cost in "
                "costs.json", bundle.model.code_files[0])])
        return
    missing = [p.predictions_file for p in bundle.points if p.declared_cost is None]
    if missing:
        raise SubmissionInvalid([Problem(
            "no_cost", "no cost for this operating point: add a model definition "
            "(config.json and tokenizer files) or declare MFLOPs and MParams in costs.json",
            name) for name in missing])


def load_task_data(data_dir: Path, bundle: Bundle, require_labels: bool) -> dict[str, TestSet]:
    """The test sets of the bundle's tasks, with labels where ``test_full.tsv`` is present
    (or always, with ``require_labels``: a missing label file is then an error)."""
    sets = {}
    for task in bundle.tasks:
        labelled = require_labels or (task_dir(data_dir, task) / LABELS_FILE).is_file()
        sets[task.slug] = load_test_set(data_dir, task, with_labels=labelled)
    return sets


def performance_of(point: PointFiles, test_set: TestSet) -> float | None:
    if test_set.labels is None:
        return None
    from evaluator.metrics import score_predictions  # scikit-learn: kept out of the web process

    try:
        return score_predictions(point.task, point.predictions, test_set.labels)
    except EvaluationFailed as exc:
        raise EvaluationFailed(f"{point.predictions_file}: {exc}") from None


def declared_report(point: PointFiles, performance: float | None) -> PointReport:
    cost = point.declared_cost
    return PointReport(point.task.slug, point.point, point.predictions_file, performance,
                       cost.mflops, cost.mparams, DECLARED)


def counted_reports(points: list[PointFiles], cost: CostModel, lengths: np.ndarray,
                    performances: list[float | None]) -> list[PointReport]:
    """Count every point of one task with the cost model of the bundle's definition."""
    from evaluator.cost_model import point_cost
    from evaluator.efficiency import check_exit_layers

    reports = []
    for point, performance in zip(points, performances, strict=True):
        exits = None if point.exit_layers is None else np.asarray(point.exit_layers)
        if exits is not None:
            check_exit_layers(point.exit_layers_file, exits, cost.num_layers)
        stats = point_cost(cost, lengths, exits)
        reports.append(PointReport(
            point.task.slug, point.point, point.predictions_file, performance,
            stats.mean_mflops, stats.mparams, COUNTED, stats.median_mflops, stats.p95_mflops,
            stats.exit_histogram))
    return reports


def score_task(report: TaskReport, curve: list[Point] | None) -> None:
    """Fill in each point's difference to the reference and the task's ELUE score."""
    if curve is None or any(p.performance is None for p in report.points):
        return
    for point in report.points:
        point.difference = point.performance - reference_at(curve, point.mflops)
    report.score = sum(p.difference for p in report.points) / len(report.points)


def evaluate_bundle(bundle: Bundle, data_dir: Path, progress: Progress | None = None,
                    curves: dict[str, list[Point]] | None = None,
                    require_labels: bool = False) -> Report:
    """Score and cost every operating point of ``bundle`` on the ELUE data in ``data_dir``.

    Raises ``SubmissionInvalid`` (a file the rules refuse), ``EvaluationFailed`` (valid
    files that cannot be scored, e.g. constant STS-B predictions) or ``DataInvalid`` (the
    ELUE data itself is missing or broken; labels are required with ``require_labels``).
    """
    check_cost_source(bundle)
    curves = reference_curves() if curves is None else curves
    test_sets = load_task_data(data_dir, bundle, require_labels)
    costs = {}
    if bundle.model is not None:
        from evaluator.efficiency import definition_costs

        if progress:
            progress("tokenising the test sets and counting FLOPs per example")
        costs = definition_costs(bundle.model_dir, list(test_sets.values()))
    tasks = []
    for task in bundle.tasks:
        if progress:
            progress(f"{task.name}: scoring")
        points = [p for p in bundle.points if p.task.slug == task.slug]
        performances = [performance_of(p, test_sets[task.slug]) for p in points]
        if bundle.model is not None:
            reports = counted_reports(points, *costs[task.slug], performances)
        else:
            reports = [declared_report(p, perf) for p, perf in zip(points, performances,
                                                                   strict=True)]
        report = TaskReport(task.slug, reports)
        score_task(report, curves.get(task.slug))
        tasks.append(report)
    overall = overall_score({t.task: t.score for t in tasks if t.score is not None})
    return Report(tasks, overall, list(bundle.ignored))
