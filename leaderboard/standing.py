"""Where an entry stands against the others: each of its points on its task's Pareto front,
or dominated by which entries. Used by the entry pages of the site and the API.

Three queries per task and one sweep by cost (``evaluator.pareto.dominating_groups``), so an entry
page costs time in proportion to its points, not to their square.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator.pareto import Point, dominating_groups
from leaderboard.models import Entry, OperatingPoint, Task


@dataclass
class PointStatus:
    """One operating point: on its task's Pareto front, or dominated by these entries
    (another entry's point at no more MFLOPs with no less performance, one strictly)."""

    point: OperatingPoint
    dominated_by: list[Entry] = field(default_factory=list)

    @property
    def on_front(self) -> bool:
        return not self.dominated_by


@dataclass
class TaskStatus:
    task: Task
    points: list[PointStatus]

    @property
    def on_front(self) -> bool:
        """Whether at least one of the entry's points on this task is on the front."""
        return any(p.on_front for p in self.points)

    @property
    def dominated_by(self) -> list[Entry]:
        """The entries dominating some point of this entry, each once, by name."""
        seen = {e.pk: e for p in self.points for e in p.dominated_by}
        return sorted(seen.values(), key=lambda e: e.name.lower())


def task_status(entry: Entry, task: Task) -> TaskStatus:
    """Where each of the entry's points on ``task`` stands against every public entry's (a
    private or unreviewed entry sees where it would stand). Three queries whatever the
    number of points: the entry's points, the others' as plain values, the dominating
    entries."""
    own = list(OperatingPoint.objects.filter(task=task, entry=entry))
    for point in own:
        point.entry = entry  # no query per point when a page reads it
    # Points of the same entry never dominate one another: a dynamic model's curve is one
    # model, and its cheap points are not "beaten" by its own expensive ones.
    others = OperatingPoint.objects.filter(Entry.shown_publicly("entry__"), task=task).exclude(
        entry=entry).values_list("mflops", "performance", "entry_id")
    dominating = dominating_groups([Point(p.mflops, p.performance) for p in own],
                                   [(Point(mflops, perf), pk) for mflops, perf, pk in others])
    entries = Entry.objects.only("pk", "name").in_bulk(set().union(*dominating))
    statuses = [PointStatus(point, sorted((entries[pk] for pk in found),
                                          key=lambda e: (e.name.lower(), e.pk)))
                for point, found in zip(own, dominating, strict=True)]
    # By cost; points of equal cost in the order they were stored (the database's order of
    # such ties is its own).
    statuses.sort(key=lambda s: (s.point.mflops, s.point.pk))
    return TaskStatus(task, statuses)


def pareto_status(entry: Entry) -> list[TaskStatus]:
    """``task_status`` for every task the entry has points on, in the ELUE order."""
    tasks = Task.objects.filter(points__entry=entry).distinct().order_by("position")
    return [task_status(entry, task) for task in tasks]
