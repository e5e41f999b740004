"""Loading the reference curve and the published entries from the committed seed files
(``leaderboard/seed/``, copies of ``../shared/elue/``).

- ``load_reference``: the reference curve, a new version only when the file changed.
- ``load_published``: one Published entry per model of ``published.csv`` with its points, and
  the scores the papers printed (``published_scores.csv``). Seeded entries the file no longer
  names are deleted (a renamed model replaces the old one); entries people submitted, even
  with the same name, are never touched.

Both loads are idempotent: running them again with the same files changes nothing.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from django.db import transaction

from evaluator.score import REFERENCE_CSV, read_reference_rows
from leaderboard.models import (
    Basis,
    Entry,
    OperatingPoint,
    PublishedScore,
    ReferencePoint,
    ReferenceVersion,
    Task,
)
from leaderboard.tasks import rescore_entries

logger = logging.getLogger(__name__)
SEED_DIR = Path(__file__).resolve().parent / "seed"
PUBLISHED_CSV = SEED_DIR / "published.csv"
PUBLISHED_SCORES_CSV = SEED_DIR / "published_scores.csv"
OVERALL = "overall"  # the task column of a paper's overall score in published_scores.csv


class SeedFileError(ValueError):
    """A seed file that contradicts itself or another seed file (which file, which line)."""


class PublishedLoad(NamedTuple):
    """What ``load_published`` did: entries created, updated and removed, scores stored."""

    created: int
    updated: int
    removed: int
    scores: int


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _optional_float(value: str) -> float | None:
    return float(value) if value.strip() else None


def _reference_rows(rows: list[dict[str, str]]) -> set[tuple]:
    return {
        (r["task"], int(r["layers"]), float(r["performance"]), float(r["mflops"]),
         r["mflops_basis"], r["source"])
        for r in rows
    }


def _version_rows(version: ReferenceVersion) -> set[tuple]:
    return {
        (p.task.slug, p.layers, p.performance, p.mflops, p.mflops_basis, p.source)
        for p in version.points.select_related("task")
    }


@transaction.atomic
def load_reference(path: Path = REFERENCE_CSV, note: str = "") -> tuple[ReferenceVersion, bool]:
    """Make the reference curve in ``path`` the current version.

    Creates a new version only when the file differs from the current one. Returns the
    current version and whether it was created.
    """
    wanted = _reference_rows(read_reference_rows(path))
    current = ReferenceVersion.objects.current()
    if current is not None and _version_rows(current) == wanted:
        return current, False
    number = current.number + 1 if current else 1
    note = note or f"loaded from {path.name}"
    version = ReferenceVersion.objects.create(number=number, note=note)
    tasks = {t.slug: t for t in Task.objects.all()}
    ReferencePoint.objects.bulk_create(
        ReferencePoint(version=version, task=tasks[slug], layers=layers, performance=perf,
                       mflops=mflops, mflops_basis=basis, source=source)
        for slug, layers, perf, mflops, basis, source in sorted(wanted)
    )
    transaction.on_commit(lambda: enqueue_rescore(version.pk))
    return version, True


def enqueue_rescore(version_id: int) -> None:
    """Re-score every entry against a new reference version in the background; a broker
    that is down only delays it (``elue_seed`` and the next version re-score too)."""
    try:
        rescore_entries.delay(version_id)
    except Exception:  # an unreachable broker: kombu raises several kinds
        logger.warning("could not enqueue the re-score for reference %s", version_id,
                       exc_info=True)


def _sync_points(entry: Entry, rows: list[dict[str, str]], tasks: dict[str, Task]) -> None:
    keep = []
    for row in rows:
        point, _ = OperatingPoint.objects.update_or_create(
            entry=entry, task=tasks[row["task"]], name=row["point"],
            defaults={
                "mflops": float(row["mflops"]),
                "performance": float(row["performance"]),
                "mparams": _optional_float(row["mparams"]),
                "mflops_basis": Basis(row["mflops_basis"]),
                "source": row["source"],
                "note": row.get("note", ""),
            },
        )
        keep.append(point.pk)
    entry.points.exclude(pk__in=keep).delete()


def seeded_entries():
    """The published entries seeded from the literature (no owner), not people's entries."""
    return Entry.objects.filter(owner=None, kind=Entry.Kind.PUBLISHED)


def remove_unnamed(names: set[str]) -> int:
    """Delete the seeded entries whose name is not in ``names`` (with their points and
    scores); returns how many entries."""
    stale = list(seeded_entries().exclude(name__in=names))
    for entry in stale:
        logger.info("removing the seeded entry %r: the seed file no longer names it", entry.name)
        entry.delete()
    return len(stale)


@transaction.atomic
def load_published(path: Path = PUBLISHED_CSV,
                   scores_path: Path = PUBLISHED_SCORES_CSV) -> PublishedLoad:
    """Make the seeded published entries those of ``path`` (created, updated or removed),
    with the printed scores of ``scores_path``."""
    by_model: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in read_csv(path):
        by_model[row["model"]].append(row)
    removed = remove_unnamed(set(by_model))
    tasks = {t.slug: t for t in Task.objects.all()}
    created = 0
    for model, rows in by_model.items():
        entry, was_created = Entry.objects.update_or_create(
            owner=None, name=model,
            defaults={"kind": Entry.Kind.PUBLISHED, "is_dynamic": rows[0]["kind"] == "dynamic",
                      "visibility": Entry.Visibility.PUBLIC,
                      # From the literature, checked when the seed file was written.
                      "review": Entry.Review.APPROVED},
        )
        _sync_points(entry, rows, tasks)
        created += was_created
    scores = load_published_scores(scores_path, tasks)
    return PublishedLoad(created, len(by_model) - created, removed, scores)


def _published_score(row: dict[str, str], where: str, entries: dict[str, Entry],
                     tasks: dict[str, Task]) -> tuple[tuple[int, int | None], float, str]:
    """``((entry id, task id or None for overall), score, source)`` of one row."""
    entry = entries.get(row["model"])
    if entry is None:
        raise SeedFileError(f"{where}: no seeded published entry is named {row['model']!r}")
    if row["task"] != OVERALL and row["task"] not in tasks:
        raise SeedFileError(f"{where}: unknown task {row['task']!r}; one of "
                            f"{', '.join(tasks)} or {OVERALL}")
    try:
        score = float(row["score"])
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        raise SeedFileError(f"{where}: score {row['score']!r} is not a number")
    task = tasks.get(row["task"])
    return (entry.pk, task.pk if task else None), score, row["source"]


def load_published_scores(path: Path, tasks: dict[str, Task]) -> int:
    """Make the printed scores of the seeded entries those of ``path`` (rows changed only
    where the file changed); returns how many there are. Raises ``SeedFileError`` for a
    model or task the seed does not know, or a score repeated."""
    entries = {e.name: e for e in seeded_entries()}
    wanted: dict[tuple[int, int | None], tuple[float, str]] = {}
    for line, row in enumerate(read_csv(path), start=2):  # line 1 is the header
        where = f"{path.name} line {line}"
        key, score, source = _published_score(row, where, entries, tasks)
        if key in wanted:
            raise SeedFileError(f"{where}: {row['model']} {row['task']} appears twice")
        wanted[key] = (score, source)
    for stored in PublishedScore.objects.filter(entry__in=entries.values()):
        key = (stored.entry_id, stored.task_id)
        if key not in wanted:
            stored.delete()
        elif (stored.score, stored.source) != wanted[key]:
            stored.score, stored.source = wanted.pop(key)
            stored.save(update_fields=["score", "source"])
        else:
            del wanted[key]
    PublishedScore.objects.bulk_create(
        PublishedScore(entry_id=entry_id, task_id=task_id, score=score, source=source)
        for (entry_id, task_id), (score, source) in wanted.items())
    return PublishedScore.objects.filter(entry__in=entries.values()).count()
