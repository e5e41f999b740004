"""Published entries (SPEC §2 kind 1): points typed in from a paper, scored at once, public
once staff have reviewed them.

Nothing is verified; each point keeps how its MFLOPs were obtained. Limits: points per task and
per entry (``check_points``, before anything is stored), and entries per user per rolling 24
hours (``check_published_quota``, counted under the owner's lock with the insert). Used by the
submit form and the API; the seeded literature entries come from ``leaderboard.seeding``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from evaluator.benchmark import TASKS
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.accounts import require_confirmed
from leaderboard.locks import owner_lock
from leaderboard.models import (
    Basis,
    Entry,
    OperatingPoint,
    PublishedEntryRecord,
    ReferenceVersion,
    Task,
)
from leaderboard.scoring import score_entry
from leaderboard.submissions import QuotaExceeded

PUBLISHED_BASES = (Basis.COMPUTED, Basis.ESTIMATED, Basis.SPEED_UP, Basis.DIGITIZED,
                   Basis.DECLARED)


@dataclass(frozen=True)
class PublishedPoint:
    """One row of a published entry: task slug, point name, MFLOPs, performance ×100,
    MParams (optional) and how the MFLOPs were obtained."""

    task: str
    name: str
    mflops: float
    performance: float
    mparams: float | None = None
    mflops_basis: str = Basis.DECLARED
    source: str = ""


def _field(row: int, name: str) -> str:
    """The API path of a point's field: rows count from 1 in messages, from 0 in JSON."""
    return f"points[{row - 1}].{name}"


def _positive(value, field: str, row: int) -> list[Problem]:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value) and value > 0
    return [] if ok else [Problem("bad_value", f"point {row}: {field} must be a positive "
                                  f"number, got {value!r}",
                                  field=_field(row, field))]


def check_point(point: PublishedPoint, row: int) -> list[Problem]:
    """Every problem with one point; ``row`` is its 1-based position."""
    problems = []
    if point.task not in TASKS:
        problems.append(Problem("unknown_task", f"point {row}: unknown task {point.task!r}; "
                                f"one of {', '.join(TASKS)}", field=_field(row, "task")))
    problems += _positive(point.mflops, "mflops", row)
    if point.mparams is not None:
        problems += _positive(point.mparams, "mparams", row)
    perf = point.performance
    if not isinstance(perf, int | float) or not math.isfinite(perf) or not 0 <= perf <= 100:
        problems.append(Problem("bad_value", f"point {row}: performance must be between 0 and "
                                f"100 (×100 as in the paper), got {perf!r}",
                                field=_field(row, "performance")))
    if point.mflops_basis not in PUBLISHED_BASES:
        problems.append(Problem("bad_value", f"point {row}: mflops_basis must be one of "
                                f"{', '.join(PUBLISHED_BASES)}",
                                field=_field(row, "mflops_basis")))
    return problems


def too_many_points(count: int) -> Problem | None:
    """The problem with an entry of ``count`` points, if it has more than an entry may."""
    limit = settings.ELUE_PUBLISHED_MAX_POINTS
    if count <= limit:
        return None
    return Problem("too_many_points", f"a published entry may have at most {limit} points; "
                   f"this one has {count}", field="points")


def too_many_per_task(points: list[PublishedPoint]) -> list[Problem]:
    """One problem per task with more points than a task may have in one entry."""
    limit = settings.ELUE_PUBLISHED_MAX_POINTS_PER_TASK
    counts = Counter(point.task for point in points)
    return [Problem("too_many_task_points", f"{task}: a published entry may have at most "
                    f"{limit} points per task; this one has {n}", field="points")
            for task, n in counts.items() if n > limit]


def check_points(points: list[PublishedPoint]) -> list[Problem]:
    """Every problem with the points; over the limit on points, only that one."""
    problem = too_many_points(len(points))
    if problem is not None:
        return [problem]
    problems = too_many_per_task(points)
    problems += [p for row, point in enumerate(points, 1) for p in check_point(point, row)]
    if not points:
        problems.append(Problem("no_points", "a published entry needs at least one point",
                                field="points"))
    seen = set()
    for row, point in enumerate(points, 1):
        key = (point.task, point.name)
        if key in seen:
            problems.append(Problem("duplicate_point", f"point {row}: {point.task} "
                                    f"{point.name!r} appears twice",
                                    field=_field(row, "name")))
        seen.add(key)
    return problems


def check_published_quota(owner, now: datetime | None = None) -> None:
    """Raise ``QuotaExceeded`` when ``owner`` has created ``ELUE_DAILY_PUBLISHED`` published
    entries in the last 24 hours (deleted ones too). Call it inside ``owner_lock``."""
    now = now or timezone.now()
    limit = settings.ELUE_DAILY_PUBLISHED
    created = list(PublishedEntryRecord.objects.filter(
        owner=owner, created_at__gte=now - timedelta(days=1)).order_by("created_at")
        .values_list("created_at", flat=True)[:limit])
    if len(created) >= limit:
        oldest = created[0] if created else now
        raise QuotaExceeded(limit, oldest + timedelta(days=1), "published entries")


def create_published_entry(owner, points: list[PublishedPoint], *, name: str,
                           description: str = "", affiliation: str = "", paper_url: str = "",
                           code_url: str = "", visibility: str = Entry.Visibility.PUBLIC,
                           is_dynamic: bool | None = None) -> Entry:
    """Create and score a published entry, awaiting staff review (staff's own entries are
    approved at once). Raises ``EmailNotConfirmed``, ``SubmissionInvalid`` with every
    problem, or ``QuotaExceeded``; in every case nothing is stored."""
    require_confirmed(owner)
    problems = check_points(points)
    if problems:
        raise SubmissionInvalid(problems)
    if is_dynamic is None:
        is_dynamic = len(points) > len({p.task for p in points})
    review = {"review": Entry.Review.PENDING}
    if owner.is_staff:
        review = {"review": Entry.Review.APPROVED, "reviewed_by": owner,
                  "reviewed_at": timezone.now(), "review_reason": "entered by staff"}
    with owner_lock(owner):
        check_published_quota(owner)
        entry = Entry.objects.create(
            owner=owner, name=name, description=description, affiliation=affiliation,
            paper_url=paper_url, code_url=code_url, kind=Entry.Kind.PUBLISHED,
            visibility=visibility, is_dynamic=is_dynamic, **review)
        PublishedEntryRecord.objects.create(owner=owner, entry=entry)
        tasks = {t.slug: t for t in Task.objects.all()}
        OperatingPoint.objects.bulk_create(
            OperatingPoint(entry=entry, task=tasks[p.task], name=p.name or "static",
                           mflops=p.mflops, performance=p.performance, mparams=p.mparams,
                           mflops_basis=p.mflops_basis, source=p.source)
            for p in points)
        version = ReferenceVersion.objects.current()
        if version is not None:
            score_entry(entry, version)
    return entry
