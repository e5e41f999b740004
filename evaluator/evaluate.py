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

from evaluator.bundle.load import Bundle, PointFiles
from evaluator.bundle.point_rules import (
    DEFAULT_RULES,
    PointRules,
    cap_problems,
    near_identical_problems,
    record_of,
)
from evaluator.data import LABELS_FILE, TestSet, load_test_set, task_dir
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid
from evaluator.pareto import Point
from evaluator.running.limited import run_limited
from evaluator.score import (
    overall_score,
    point_difference,
    reference_curves,
    shown_performance,
    shown_score,
    task_score,
)

COUNTED = "counted"
DECLARED = "declared"
# Counted from a model.py's captured graph that the platform never ran (kind 3 without
# weights): the files' predictions may come from another computation.
CODE_NOT_RUN = "code"

if TYPE_CHECKING:
    from evaluator.cost.per_example import CostModel
    from evaluator.running.agreement import Agreement
    from evaluator.running.custom_code import CustomCost
    from evaluator.running.model_sandbox import ModelRunOptions

    # What model_costs finds: per task slug, per (task slug, point).
    DefinitionCosts = dict[str, tuple[CostModel, np.ndarray]]
    CustomCosts = dict[str, tuple[CustomCost, np.ndarray]]
    Agreements = dict[tuple[str, str], Agreement]

Progress = Callable[[str], None]


@dataclass
class PointReport:
    """One operating point: performance ×100 (``None`` without labels), MFLOPs (mean over the
    test set, the ELUE figure), MParams, how the cost was obtained, and the difference to the
    reference curve at that cost. Performance has one decimal and the difference two, as the
    ELUE paper prints them (``evaluator.score.shown_performance``)."""

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
    # Kind 3 with weights: a re-run sample compared with the submitted files.
    rerun_examples: int | None = None
    rerun_prediction_agreement: float | None = None  # percent
    rerun_exit_agreement: float | None = None  # percent; None for a static point


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


def check_cost_source(bundle: Bundle, allow_unsandboxed: bool = False) -> None:
    """A point needs a cost: counted from a model definition or declared in costs.json.

    Custom model code needs a sandbox (``evaluator.running.sandbox``) unless ``allow_unsandboxed``.
    """
    if bundle.model is not None:
        if bundle.model.code_files and not allow_unsandboxed:
            from evaluator.running.sandbox import sandbox_available

            available, why = sandbox_available()
            if not available:
                raise SubmissionInvalid([Problem(
                    "custom_code_unsupported",
                    f"this server cannot run custom model code safely ({why}); submit a "
                    "Hugging Face config.json of a standard architecture, or declare the cost "
                    "in costs.json", bundle.model.code_files[0])])
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
    """The point's performance at the paper's precision: the unrounded value never leaves
    this function, so no report, page or log can carry more than the paper shows."""
    if test_set.labels is None:
        return None
    from evaluator.metrics import score_predictions  # scikit-learn: kept out of the web process

    try:
        return shown_performance(score_predictions(point.task, point.predictions,
                                                   test_set.labels))
    except EvaluationFailed as exc:
        raise EvaluationFailed(f"{point.predictions_file}: {exc}") from None


def declared_report(point: PointFiles, performance: float | None) -> PointReport:
    cost = point.declared_cost
    if cost is None:  # check_cost_source refuses such a point first
        raise ValueError(f"{point.predictions_file} has no declared cost")
    return PointReport(point.task.slug, point.point, point.predictions_file, performance,
                       cost.mflops, cost.mparams, DECLARED)


def counted_reports(points: list[PointFiles], cost: CostModel, lengths: np.ndarray,
                    performances: list[float | None]) -> list[PointReport]:
    """Count every point of one task with the cost model of the bundle's definition."""
    from evaluator.cost.definition import check_exit_layers
    from evaluator.cost.per_example import point_cost

    reports = []
    for point, performance in zip(points, performances, strict=True):
        exits = None if point.exit_layers is None else np.asarray(point.exit_layers)
        if exits is not None:
            check_exit_layers(point.exit_layers_file, exits, cost.num_layers)
        reports.append(_counted(point, performance, point_cost(cost, lengths, exits)))
    return reports


def custom_reports(points: list[PointFiles], cost: CustomCost, lengths: np.ndarray,
                   performances: list[float | None], ran: set[str]) -> list[PointReport]:
    """Count every point of one task with the counts of a ``model.py``'s captured graphs;
    a point is ``counted`` if the platform ran those graphs for it (its name in ``ran``),
    else ``code`` (counted from submitted code, not run)."""
    from evaluator.running.custom_code import point_cost_of

    reports = []
    for point, performance in zip(points, performances, strict=True):
        exits = None if point.exit_layers is None else np.asarray(point.exit_layers)
        basis = COUNTED if point.point in ran else CODE_NOT_RUN
        reports.append(_counted(point, performance, point_cost_of(cost, lengths, exits),
                                basis))
    return reports


def _counted(point: PointFiles, performance: float | None, stats,
             basis: str = COUNTED) -> PointReport:
    """The report of a point whose cost the platform counted (``stats``: a ``PointCost``)."""
    return PointReport(
        point.task.slug, point.point, point.predictions_file, performance, stats.mean_mflops,
        stats.mparams, basis, stats.median_mflops, stats.p95_mflops, stats.exit_histogram)


def attach_agreements(reports: list[PointReport],
                      agreements: dict[tuple[str, str], Agreement]) -> None:
    for report in reports:
        found = agreements.get((report.task, report.point))
        if found is not None:
            report.rerun_examples = found.examples
            report.rerun_prediction_agreement = found.predictions
            report.rerun_exit_agreement = found.exit_layers


def model_costs(bundle: Bundle, test_sets: dict[str, TestSet], options: ModelRunOptions,
                progress: Progress | None, rules: PointRules = DEFAULT_RULES
                ) -> tuple[DefinitionCosts, CustomCosts, Agreements]:
    """Run a kind-4 model (filling ``bundle.points``, held to ``rules``), count the
    definition, re-run a kind-3 sample: (costs by task, custom (cost, lengths) by task,
    agreements by (task, point))."""
    from evaluator.running import model_points

    runs = bundle.runs_model
    model = bundle.model
    if model is None:
        raise ValueError("only a model definition has costs to count")
    costs: DefinitionCosts = {}
    if not model.is_custom:
        from evaluator.cost.definition import definition_costs

        # Before anything runs: a config the counter cannot build or trace is refused here.
        # Under the sandbox's limits, in a child process: what gets built is the submitter's
        # choice even though no submitter code runs.
        if progress:
            progress("counting FLOPs per example")
        costs = run_limited(definition_costs, (bundle.model_dir, list(test_sets.values())),
                            options.policy, options.check_stop, work_dir=options.work_dir)
    # Standard architectures without weights tokenise inside definition_costs only.
    tokens = model_points.tokenize(model, test_sets) if model.is_custom or model.runnable \
        else {}
    segments = model_points.gives_segments(tokens)
    with model_points.CapturedGraphs(bundle, options, progress, segments) as graphs:
        if runs:
            bundle.points = model_points.run_points(bundle, test_sets, tokens, options,
                                                    progress, graphs)
            check_model_points(bundle, rules)
        custom: CustomCosts = {}
        if model.is_custom:
            if progress:
                progress("counting FLOPs per example")
            counted = model_points.custom_costs(bundle, tokens, options, graphs)
            custom = {slug: (cost, tokens[slug].lengths) for slug, cost in counted.items()}
        agreements: Agreements = {}
        if model.runnable and not runs:
            agreements = model_points.rerun_agreements(bundle, tokens, options, progress,
                                                       graphs)
    for (slug, point), found in agreements.items():
        if progress:
            progress(f"{slug} {point or 'static'}: {found.predictions:.1f}% of "
                     f"{found.examples} re-run predictions agree with the files")
    return costs, custom, agreements


def score_task(report: TaskReport, curve: list[Point] | None) -> None:
    """Fill in each point's difference to the reference and the task's ELUE score, both at
    the paper's precision."""
    if curve is None:
        return
    points = [Point(p.mflops, p.performance) for p in report.points
              if p.performance is not None]
    if len(points) != len(report.points):  # a point without a performance
        return
    for point, counted in zip(report.points, points, strict=True):
        point.difference = shown_score(point_difference(counted, curve))
    report.score = shown_score(task_score(points, curve))


def check_model_points(bundle: Bundle, rules: PointRules) -> None:
    """The point rules on the points a model the platform ran produced (kind 4), before
    any of them is scored: files were checked when the bundle was loaded."""
    problems = cap_problems(bundle.points, None, rules) + near_identical_problems(
        [record_of(p) for p in bundle.points], rules)
    if problems:
        raise SubmissionInvalid(problems)


def evaluate_bundle(bundle: Bundle, data_dir: Path, progress: Progress | None = None,
                    curves: dict[str, list[Point]] | None = None,
                    require_labels: bool = False,
                    options: ModelRunOptions | None = None,
                    rules: PointRules = DEFAULT_RULES) -> Report:
    """Score and cost every operating point of ``bundle`` on the ELUE data in ``data_dir``.

    Raises ``SubmissionInvalid`` (a file the rules refuse), ``EvaluationFailed`` (valid
    files that cannot be scored, e.g. constant STS-B predictions) or ``DataInvalid`` (the
    ELUE data itself is missing or broken; labels are required with ``require_labels``).
    A model definition with code or weights is counted and run in the sandbox with
    ``options`` (``evaluator.running.custom_code``); the points a model produced are held to
    ``rules`` before any is scored.
    """
    from evaluator.running.model_sandbox import ModelRunOptions

    options = options or ModelRunOptions()
    check_cost_source(bundle, options.policy.allow_unsandboxed)
    curves = reference_curves() if curves is None else curves
    test_sets = load_task_data(data_dir, bundle, require_labels)
    costs: DefinitionCosts = {}
    custom: CustomCosts = {}
    agreements: Agreements = {}
    runs = bundle.runs_model
    if bundle.model is not None:
        if progress:
            progress("tokenising the test sets")
        costs, custom, agreements = model_costs(bundle, test_sets, options, progress, rules)
    tasks = []
    for task in bundle.tasks:
        if progress:
            progress(f"{task.name}: scoring")
        points = [p for p in bundle.points if p.task.slug == task.slug]
        performances = [performance_of(p, test_sets[task.slug]) for p in points]
        if custom:
            ran = {p.point for p in points} if runs else \
                {point for slug, point in agreements if slug == task.slug}
            reports = custom_reports(points, *custom[task.slug], performances, ran)
        elif bundle.model is not None:
            reports = counted_reports(points, *costs[task.slug], performances)
        else:
            reports = [declared_report(p, perf) for p, perf in zip(points, performances,
                                                                   strict=True)]
        attach_agreements(reports, agreements)
        report = TaskReport(task.slug, reports)
        score_task(report, curves.get(task.slug))
        tasks.append(report)
    overall = overall_score({t.task: t.score for t in tasks if t.score is not None})
    return Report(tasks, overall, list(bundle.ignored))
