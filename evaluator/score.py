"""The ELUE score (SPEC §4), the one place it is computed: a point's difference to the
ElasticBERT-BASE reference curve (``point_difference``), a task's score (``task_score``: the
mean over the entry's points) and the overall score (``overall_score``: the mean over its
tasks). The worker, the offline checker, published entries, the pages and the API all call
these.

Scores are kept at the precision the ELUE paper prints (``SCORE_DECIMALS``), performance at
one decimal (``PERFORMANCE_DECIMALS``): a full float of a score on a hidden test set tells
more about its labels than the paper's numbers do (docs/integrity.md). ``shown_performance``
and ``shown_score`` round; ``overall_score`` returns a rounded mean.

The published reference curve (SPEC §4, §5) ships with the evaluator (``reference_curves``),
so that the offline checker scores exactly as the platform does without a database; the
platform stores it as versioned rows and passes those curves in.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from evaluator.pareto import Point

REFERENCE_CSV = Path(__file__).resolve().parent / "resources" / "reference.csv"
PERFORMANCE_DECIMALS = 1  # as the ELUE paper prints performance (×100)
SCORE_DECIMALS = 2  # as it prints ELUE scores


def shown_performance(value: float) -> float:
    """A performance (×100) at the paper's precision: what ELUE stores, shows and returns."""
    return round(value, PERFORMANCE_DECIMALS)


def shown_score(value: float) -> float:
    """An ELUE score (or a point's difference to the reference) at the paper's precision."""
    return round(value, SCORE_DECIMALS)


def read_reference_rows(path: Path = REFERENCE_CSV) -> list[dict[str, str]]:
    """The rows of a reference CSV: task, layers, performance, mflops, mflops_basis, source."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference_curves(path: Path = REFERENCE_CSV) -> dict[str, list[Point]]:
    """The reference points per task slug, as (MFLOPs, performance)."""
    curves: dict[str, list[Point]] = defaultdict(list)
    for row in read_reference_rows(path):
        curves[row["task"]].append(Point(float(row["mflops"]), float(row["performance"])))
    return dict(curves)


def _sorted_reference(reference: Iterable[Point]) -> list[Point]:
    points = sorted(reference, key=lambda p: p.cost)
    if len(points) < 2:
        raise ValueError("a reference curve needs at least two points")
    if len({p.cost for p in points}) != len(points):
        raise ValueError("reference points must have distinct costs")
    return points


def reference_at(reference: Sequence[Point], cost: float) -> float:
    """Reference performance at ``cost``: straight lines between reference points, and the
    first and last segments extended beyond them (linear extrapolation, not clamping).

    >>> ref = [Point(1060.33, 84.1), Point(1413.36, 85.7)]
    >>> round(reference_at(ref, 1236.845), 2)
    84.9
    """
    points = _sorted_reference(reference)
    segment = 0
    while segment < len(points) - 2 and cost > points[segment + 1].cost:
        segment += 1
    left, right = points[segment], points[segment + 1]
    slope = (right.performance - left.performance) / (right.cost - left.cost)
    return left.performance + slope * (cost - left.cost)


def point_difference(point: Point, reference: Sequence[Point]) -> float:
    """``Perf_i − Ref(FLOPs_i)``: how far one point lies above the reference curve."""
    return point.performance - reference_at(reference, point.cost)


def point_differences(points: Sequence[Point], reference: Sequence[Point]) -> list[float]:
    """``point_difference`` of every point."""
    return [point_difference(p, reference) for p in points]


def task_score(points: Sequence[Point], reference: Sequence[Point]) -> float:
    """ELUE score of one task: the mean of ``Perf_i − Ref(FLOPs_i)`` over the entry's points."""
    if not points:
        raise ValueError("an entry needs at least one point on a task to be scored")
    differences = point_differences(points, reference)
    return sum(differences) / len(differences)


def overall_score(task_scores: Mapping[str, float]) -> float | None:
    """The plain mean of the task scores an entry has, at the paper's precision, or ``None``
    when it has none."""
    if not task_scores:
        return None
    return shown_score(sum(task_scores.values()) / len(task_scores))
