"""The database side of "labels cannot be probed" (docs/integrity.md): the point rules from
the settings, the point budgets, and each account's earlier points, kept as compact records
(``PointRecord``) that no page, API answer or log ever shows.

``evaluator.bundle.point_rules`` holds the pure rules (the cap per task, near-identical
points); here they are applied against what the account submitted before:

- ``point_rules`` and ``RECORD_WINDOW`` (the monthly budget's window, also how far back
  points are compared);
- ``earlier_problems`` refuses points near-identical to the account's earlier ones and
  ``store_records`` keeps the new ones, both under the account's lock
  (``leaderboard.locks.owner_lock``) in the transaction that accepts the submission (or,
  for a model the platform runs, in ``record_model_points`` once the worker has its
  predictions, before any is recorded);
- ``budget_problem`` says whether a submission's points fit the daily and monthly point
  budgets (``leaderboard.submissions.check_quota`` raises it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from evaluator.benchmark import TASKS
from evaluator.bundle.point_rules import PointRules, PredictionRecord, earlier_point_problems
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.locks import owner_lock
from leaderboard.models import PointRecord, Submission

DAY = timedelta(days=1)
RECORD_WINDOW = timedelta(days=30)  # the monthly point budget's window


def point_rules() -> PointRules:
    return PointRules(max_points_per_task=settings.ELUE_MAX_POINTS_PER_TASK,
                      min_difference_percent=settings.ELUE_MIN_POINT_DIFFERENCE_PERCENT,
                      min_difference_examples=settings.ELUE_MIN_POINT_DIFFERENCE_EXAMPLES)


# --- earlier points -----------------------------------------------------------------------

def earlier_records(owner, tasks: Iterable[str], since: datetime,
                    excluding: int | None = None) -> list[PredictionRecord]:
    """The owner's points on ``tasks`` submitted since ``since`` (not of ``excluding``)."""
    rows = PointRecord.objects.filter(owner=owner, task__in=list(tasks), created_at__gte=since)
    if excluding is not None:
        rows = rows.exclude(submission_id=excluding)
    return [PredictionRecord(r.task, r.point, r.file, bytes(r.predictions), r.submission_id,
                             r.created_at)
            for r in rows.order_by("created_at", "pk")]


def earlier_problems(owner, records: Sequence[PredictionRecord], now: datetime,
                     excluding: int | None = None) -> list[Problem]:
    """Problems for the points of ``records`` near-identical to one the owner submitted in
    the last ``RECORD_WINDOW``."""
    if not records:
        return []
    earlier = earlier_records(owner, {r.task for r in records}, now - RECORD_WINDOW, excluding)
    return earlier_point_problems(records, earlier, point_rules())


def store_records(submission: Submission, records: Sequence[PredictionRecord],
                  at: datetime) -> None:
    """Keep the submission's points for comparing the owner's later ones (once: a
    redelivered evaluation replaces what an earlier attempt stored)."""
    PointRecord.objects.filter(submission=submission).delete()
    PointRecord.objects.bulk_create(
        PointRecord(owner_id=submission.owner_id, submission=submission, task=r.task,
                    point=r.point, file=r.file, predictions=r.data, created_at=at)
        for r in records)


def record_model_points(submission: Submission, records: Sequence[PredictionRecord]) -> None:
    """The points a model the platform ran produced (kind 4): refused with
    ``SubmissionInvalid`` when near-identical to the owner's earlier ones, else recorded."""
    if not records:
        return
    with owner_lock(submission.owner):
        now = timezone.now()
        problems = earlier_problems(submission.owner, records, now, excluding=submission.pk)
        if problems:
            raise SubmissionInvalid(problems)
        store_records(submission, records, now)


# --- point budgets ------------------------------------------------------------------------

@dataclass(frozen=True)
class BudgetExceeded:
    """Which point budget a submission does not fit, and when enough of it frees up
    (``None`` when the submission alone is larger than the budget)."""

    name: str
    message: str
    resets_at: datetime | None


def _used(owner, since: datetime) -> list[tuple[datetime, dict]]:
    rows = Submission.objects.counted_for_quota(owner, since).order_by("created_at")
    return list(rows.values_list("created_at", "points_by_task"))


def _frees_at(used: list[tuple[datetime, int]], needed: int, limit: int,
              window: timedelta) -> datetime | None:
    """When enough earlier points leave the window for ``needed`` more to fit ``limit``."""
    total = sum(n for _, n in used)
    for created_at, n in used:
        total -= n
        if total + needed <= limit:
            return created_at + window
    return None


def budget_problem(owner, points: Mapping[str, int], now: datetime) -> BudgetExceeded | None:
    """The first point budget that ``points`` (per task slug) would exceed, or ``None``:
    ``ELUE_DAILY_POINTS`` over all tasks in a rolling day, ``ELUE_MONTHLY_POINTS_PER_TASK``
    per task in a rolling 30 days. Points of every submission that counts against the
    quota count (deleted ones too), those still being scored included."""
    needed = sum(points.values())
    daily = settings.ELUE_DAILY_POINTS
    used = [(at, sum(p.values())) for at, p in _used(owner, now - DAY)]
    if sum(n for _, n in used) + needed > daily:
        frees = _frees_at(used, needed, daily, DAY)
        when = (f"enough of them free up at {frees:%Y-%m-%d %H:%M} UTC" if frees else
                "submit fewer points at once")
        return BudgetExceeded(
            "daily_points", f"daily limit of {daily} scored points reached: this submission "
            f"has {needed} and your submissions of the last 24 hours have "
            f"{sum(n for _, n in used)}; {when}", frees)
    monthly = settings.ELUE_MONTHLY_POINTS_PER_TASK
    month = _used(owner, now - RECORD_WINDOW)
    for slug, count in points.items():
        used = [(at, p.get(slug, 0)) for at, p in month if p.get(slug, 0)]
        if sum(n for _, n in used) + count > monthly:
            frees = _frees_at(used, count, monthly, RECORD_WINDOW)
            when = (f"enough of them free up at {frees:%Y-%m-%d %H:%M} UTC" if frees else
                    "submit fewer points on it at once")
            return BudgetExceeded(
                "monthly_points", f"limit of {monthly} scored points on {TASKS[slug].name} per "
                f"30 days reached: this submission has {count} and your submissions of the "
                f"last 30 days have {sum(n for _, n in used)}; {when}", frees)
    return None
