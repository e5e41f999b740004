"""The leaderboard's rows, fetched for speed: two flat queries (entries, scores) instead of a
model instance per score, whatever the number of entries. The site's page and the API share
them; ``leaderboard.ranking`` orders them (SPEC §4)."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Max

from evaluator.score import overall_score
from leaderboard.models import Entry, TaskScore
from leaderboard.ranking import LeaderboardRow, rank_rows

ENTRY_FIELDS = ("pk", "name", "kind", "visibility", "is_dynamic", "owner_id", "description",
                "affiliation", "paper_url", "code_url", "created_at", "updated_at")


def _scores(entries) -> dict[int, dict[str, float]]:
    """Task slug -> score, per entry id, for the entries of the queryset ``entries``."""
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    for entry_id, slug, score in TaskScore.objects.filter(entry__in=entries).values_list(
            "entry_id", "task__slug", "score"):
        scores[entry_id][slug] = score
    return scores


def _entry(fields: tuple, owner_name: str | None) -> Entry:
    """An ``Entry`` built from a flat row, its owner attached so that reading
    ``entry.owner.username`` costs no query."""
    entry = Entry(**dict(zip(ENTRY_FIELDS, fields, strict=True)))
    entry.owner = get_user_model()(pk=entry.owner_id, username=owner_name) \
        if entry.owner_id else None
    return entry


def public_rows(kind: str | None = None) -> list[LeaderboardRow]:
    """Every public entry (optionally of one kind) as a ranked row, in two queries."""
    entries = Entry.objects.public()
    if kind:
        entries = entries.filter(kind=kind)
    scores = _scores(entries)
    flat = entries.annotate(max_mparams=Max("points__mparams")).values_list(
        *ENTRY_FIELDS, "owner__username", "max_mparams")
    rows = []
    for *fields, owner_name, mparams in flat:
        entry = _entry(tuple(fields), owner_name)
        task_scores = scores.get(entry.pk, {})
        rows.append(LeaderboardRow(entry=entry, task_scores=task_scores,
                                   overall=overall_score(task_scores), mparams=mparams))
    return rank_rows(rows)
