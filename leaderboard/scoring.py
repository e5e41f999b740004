"""Storing ELUE scores: the ORM side of ``evaluator.score``. Scores are computed there
only; here they are read against a stored reference version and saved with it, at the
paper's precision (``evaluator.score.shown_score``)."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from evaluator.pareto import Point
from evaluator.score import shown_score, task_score
from leaderboard.models import Entry, ReferenceVersion, TaskScore


def reference_curves(version: ReferenceVersion) -> dict[int, list[Point]]:
    """The reference points of ``version``, per task id."""
    curves: dict[int, list[Point]] = defaultdict(list)
    for ref in version.points.all():
        curves[ref.task_id].append(Point(ref.mflops, ref.performance))
    return dict(curves)


def reference_curves_by_slug(version: ReferenceVersion | None) -> dict[str, list[Point]]:
    """The reference points of ``version`` per task slug, as the evaluator takes them (empty
    without a version: nothing is scored until a reference is loaded)."""
    if version is None:
        return {}
    curves: dict[str, list[Point]] = defaultdict(list)
    for ref in version.points.select_related("task"):
        curves[ref.task.slug].append(Point(ref.mflops, ref.performance))
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
    store_scores(entry, version, scores)
    return scores


def store_scores(entry: Entry, version: ReferenceVersion, scores: dict[int, float]) -> None:
    """Save the entry's task scores (per task id), computed against ``version``, at two
    decimals; scores of tasks not in ``scores`` are removed."""
    for task_id, score in scores.items():
        TaskScore.objects.update_or_create(
            entry=entry, task_id=task_id,
            defaults={"score": shown_score(score), "reference_version": version},
        )
    entry.scores.exclude(task_id__in=scores).delete()


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
