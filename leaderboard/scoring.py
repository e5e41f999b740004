"""Computing and storing ELUE scores: the ORM side of ``evaluator.pareto``."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from evaluator.pareto import Point, task_score
from leaderboard.models import Entry, ReferenceVersion, TaskScore


def reference_curves(version: ReferenceVersion) -> dict[int, list[Point]]:
    """The reference points of ``version``, per task id."""
    curves: dict[int, list[Point]] = defaultdict(list)
    for ref in version.points.all():
        curves[ref.task_id].append(Point(ref.mflops, ref.performance))
    return dict(curves)


def entry_points(entry: Entry) -> dict[int, list[Point]]:
    """The entry's operating points, per task id."""
    points: dict[int, list[Point]] = defaultdict(list)
    for point in entry.points.all():
        points[point.task_id].append(Point(point.mflops, point.performance))
    return dict(points)


@transaction.atomic
def score_entry(entry: Entry, version: ReferenceVersion,
                curves: dict[int, list[Point]] | None = None) -> dict[int, float]:
    """(Re)compute and store the entry's score on every task it has points on.

    Scores of tasks the entry no longer has points on are removed. Returns the scores
    per task id.
    """
    curves = reference_curves(version) if curves is None else curves
    scores = {
        task_id: task_score(points, curves[task_id])
        for task_id, points in entry_points(entry).items()
        if task_id in curves
    }
    for task_id, score in scores.items():
        TaskScore.objects.update_or_create(
            entry=entry, task_id=task_id,
            defaults={"score": score, "reference_version": version},
        )
    entry.scores.exclude(task_id__in=scores).delete()
    return scores


def rescore_all(version: ReferenceVersion | None = None) -> int:
    """Score every entry against ``version`` (default: the current one). Returns how many."""
    version = version or ReferenceVersion.objects.current()
    if version is None:
        return 0
    curves = reference_curves(version)
    entries = Entry.objects.prefetch_related("points")
    for entry in entries:
        score_entry(entry, version, curves)
    return len(entries)
