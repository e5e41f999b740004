"""Pareto fronts: pure functions over (cost, performance) points. The ELUE score, which
measures the same points against the reference curve, is ``evaluator.score``.

Costs are MFLOPs (or MParams for the parameter front); performance is ×100.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Group = TypeVar("Group", bound=Hashable)


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


def dominating_groups(targets: Sequence[Point], others: Sequence[tuple[Point, Group]]
                      ) -> list[set[Group]]:
    """For each of ``targets``, the groups (e.g. entries) owning at least one of ``others``
    that dominates it; the targets never dominate one another.

    One sweep by cost instead of ``dominators`` per target: a group dominates a target when
    its best performance among strictly cheaper points is no lower, or among points of the
    same cost strictly higher. O((t + n) log(t + n) + t·g) for t targets and n other points
    in g groups (the answer itself may hold t·g groups).
    """
    ordered = sorted(others, key=lambda other: other[0].cost)
    cheaper: dict[Group, float] = {}  # best performance per group, strictly cheaper points
    same: dict[Group, float] = {}  # best performance per group at the current cost
    found: list[set[Group]] = [set() for _ in targets]
    j, cost = 0, None
    for i in sorted(range(len(targets)), key=lambda i: targets[i].cost):
        target = targets[i]
        if target.cost != cost:
            cost, same = target.cost, {}
            while j < len(ordered) and ordered[j][0].cost < cost:
                point, group = ordered[j]
                cheaper[group] = max(cheaper.get(group, point.performance), point.performance)
                j += 1
            k = j
            while k < len(ordered) and ordered[k][0].cost == cost:
                point, group = ordered[k]
                same[group] = max(same.get(group, point.performance), point.performance)
                k += 1
        perf = target.performance
        found[i] = ({g for g, best in cheaper.items() if best >= perf}
                    | {g for g, best in same.items() if best > perf})
    return found
