"""The leaderboard's rows, fetched for speed: flat queries (entries, scores, the scores the
papers printed) instead of a model instance per score, whatever the number of entries; within
a budget, also every public point and the reference curve. The site's pages and the API share
them; ``leaderboard.ranking`` orders them (SPEC §4), ``leaderboard.budget`` picks each entry's
best point within a budget."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Max

from evaluator.score import overall_score
from leaderboard.budget import Budget, Candidate, standing
from leaderboard.models import Entry, OperatingPoint, PublishedScore, ReferenceVersion, TaskScore
from leaderboard.ranking import LeaderboardRow, rank_rows
from leaderboard.scoring import reference_curves_by_slug

ENTRY_FIELDS = ("pk", "name", "kind", "visibility", "is_dynamic", "owner_id", "description",
                "affiliation", "paper_url", "code_url", "created_at", "updated_at")
OVERALL = "overall"  # the key of a paper's overall score among its task scores


def _scores(entries) -> dict[int, dict[str, float]]:
    """Task slug -> score, per entry id, for the entries of the queryset ``entries``."""
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    for entry_id, slug, score in TaskScore.objects.filter(entry__in=entries).values_list(
            "entry_id", "task__slug", "score"):
        scores[entry_id][slug] = score
    return scores


def published_scores(entries) -> dict[int, dict[str, float]]:
    """Task slug (or ``"overall"``) -> the score the paper printed, per entry id."""
    printed: dict[int, dict[str, float]] = defaultdict(dict)
    for entry_id, slug, score in PublishedScore.objects.filter(entry__in=entries).values_list(
            "entry_id", "task__slug", "score"):
        printed[entry_id][slug or OVERALL] = score
    return printed


def candidates(entries, task: str | None = None) -> dict[int, list[Candidate]]:
    """Every point of the entries of ``entries`` (optionally on one task), per entry id."""
    points = OperatingPoint.objects.filter(entry__in=entries)
    if task:
        points = points.filter(task__slug=task)
    found: dict[int, list[Candidate]] = defaultdict(list)
    for entry_id, slug, name, mflops, performance, mparams in points.values_list(
            "entry_id", "task__slug", "name", "mflops", "performance", "mparams"):
        found[entry_id].append(Candidate(entry_id, slug, name, mflops, performance, mparams))
    return found


def _entry(fields: tuple, owner_name: str | None) -> Entry:
    """An ``Entry`` built from a flat row, its owner attached so that reading
    ``entry.owner.username`` costs no query."""
    entry = Entry(**dict(zip(ENTRY_FIELDS, fields, strict=True)))
    entry.owner = get_user_model()(pk=entry.owner_id, username=owner_name) \
        if entry.owner_id else None
    return entry


def within_budget(rows: list[LeaderboardRow], entries, budget: Budget,
                  task: str | None = None) -> list[LeaderboardRow]:
    """The rows with a point within ``budget`` (on ``task``, if given), each with its
    standing; the others drop out."""
    curves = reference_curves_by_slug(ReferenceVersion.objects.current())
    points = candidates(entries, task)
    kept = []
    for row in rows:
        row.budget = standing(points.get(row.entry.pk, ()), budget, curves)
        if row.budget is not None:
            kept.append(row)
    return kept


def public_rows(kind: str | None = None, budget: Budget | None = None,
                task: str | None = None) -> list[LeaderboardRow]:
    """Every public entry (optionally of one kind) as a ranked row. With a ``budget``, only
    the entries with a point within it (on ``task``, if given), ranked by those points."""
    entries = Entry.objects.public()
    if kind:
        entries = entries.filter(kind=kind)
    scores, printed = _scores(entries), published_scores(entries)
    flat = entries.annotate(max_mparams=Max("points__mparams")).values_list(
        *ENTRY_FIELDS, "owner__username", "max_mparams")
    rows = []
    for *fields, owner_name, mparams in flat:
        entry = _entry(tuple(fields), owner_name)
        task_scores = scores.get(entry.pk, {})
        rows.append(LeaderboardRow(entry=entry, task_scores=task_scores,
                                   overall=overall_score(task_scores), mparams=mparams,
                                   published=printed.get(entry.pk, {})))
    if budget:
        rows = within_budget(rows, entries, budget, task)
    return rank_rows(rows)
