"""The ELUE score (SPEC §4) and Pareto fronts: pure functions over (cost, performance) points.

Costs are MFLOPs (or MParams for the parameter front); performance is ×100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One operating point: ``cost`` (MFLOPs or MParams) and ``performance`` (×100)."""

    cost: float
    performance: float


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


def point_differences(points: Sequence[Point], reference: Sequence[Point]) -> list[float]:
    """``Perf_i − Ref(FLOPs_i)`` for every point."""
    return [p.performance - reference_at(reference, p.cost) for p in points]


def task_score(points: Sequence[Point], reference: Sequence[Point]) -> float:
    """ELUE score of one task: the mean of ``Perf_i − Ref(FLOPs_i)`` over the entry's points."""
    if not points:
        raise ValueError("an entry needs at least one point on a task to be scored")
    differences = point_differences(points, reference)
    return sum(differences) / len(differences)


def overall_score(task_scores: Mapping[str, float]) -> float | None:
    """The plain mean of the task scores an entry has, or ``None`` when it has none."""
    if not task_scores:
        return None
    return sum(task_scores.values()) / len(task_scores)


def dominates(a: Point, b: Point) -> bool:
    """``a`` is at least as good as ``b`` on both axes (lower cost, higher performance)
    and strictly better on one."""
    no_worse = a.cost <= b.cost and a.performance >= b.performance
    return no_worse and (a.cost < b.cost or a.performance > b.performance)


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the points no other point dominates, ordered by cost.

    Sorting by cost (ties: best performance first) and keeping each point that beats the
    best performance seen so far finds the front in O(n log n).
    """
    order = sorted(range(len(points)), key=lambda i: (points[i].cost, -points[i].performance))
    front, best = [], float("-inf")
    for i in order:
        if points[i].performance > best:
            front.append(i)
            best = points[i].performance
        elif points[i] == points[front[-1]]:
            front.append(i)  # an identical twin of a front point is not dominated either
    return front


def dominators(points: Sequence[Point], index: int) -> list[int]:
    """Indices of the points that dominate ``points[index]`` (empty when it is on the front)."""
    target = points[index]
    return [i for i, p in enumerate(points) if i != index and dominates(p, target)]
