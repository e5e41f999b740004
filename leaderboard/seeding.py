"""Loading the reference curve and the published entries from the committed seed files.

Both loads are idempotent: running them again with the same files changes nothing.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from evaluator.score import REFERENCE_CSV, read_reference_rows
from leaderboard.models import Basis, Entry, OperatingPoint, ReferencePoint, ReferenceVersion, Task
from leaderboard.tasks import rescore_entries

logger = logging.getLogger(__name__)
PUBLISHED_CSV = Path(__file__).resolve().parent / "seed" / "published.csv"


@dataclass
class SeedResult:
    reference_version: ReferenceVersion
    reference_created: bool
    entries_created: int
    entries_updated: int


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


@transaction.atomic
def load_published(path: Path = PUBLISHED_CSV) -> tuple[int, int]:
    """Create or update one Published entry per model in ``path``. Returns (created, updated)."""
    by_model: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in read_csv(path):
        by_model[row["model"]].append(row)
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
    return created, len(by_model) - created
