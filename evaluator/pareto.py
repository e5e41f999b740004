"""Pareto fronts: pure functions over (cost, performance) points. The ELUE score, which
measures the same points against the reference curve, is ``evaluator.score``.

Costs are MFLOPs (or MParams for the parameter front); performance is ×100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One operating point: ``cost`` (MFLOPs or MParams) and ``performance`` (×100)."""

    cost: float
    performance: float


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
