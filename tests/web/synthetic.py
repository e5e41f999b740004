"""Synthetic leaderboard entries in bulk, for the query-count test and the leaderboard
benchmark: every entry has a point and a score on each task."""

from __future__ import annotations

import random

from leaderboard.models import Basis, Entry, OperatingPoint, ReferenceVersion, Task, TaskScore


def make_entries(count: int, seed: int = 0) -> list[Entry]:
    """``count`` public entries of mixed kinds, each with one point and one score per task
    (random numbers in plausible ranges), in a few bulk inserts."""
    rng = random.Random(seed)
    version = ReferenceVersion.objects.current() or ReferenceVersion.objects.create(number=1)
    tasks = list(Task.objects.all())
    kinds = list(Entry.Kind.values)
    entries = Entry.objects.bulk_create(
        Entry(name=f"Synthetic-{seed}-{i:05d}", kind=kinds[i % len(kinds)],
              paper_url="https://example.org/paper" if i % 3 == 0 else "")
        for i in range(count))
    if not entries or entries[0].pk is None:  # backends that do not return keys
        entries = list(Entry.objects.filter(name__startswith=f"Synthetic-{seed}-"))
    OperatingPoint.objects.bulk_create(
        OperatingPoint(entry=e, task=t, name="static", mflops=rng.uniform(300, 25000),
                       performance=rng.uniform(60, 95), mparams=rng.uniform(10, 120),
                       mflops_basis=Basis.DECLARED)
        for e in entries for t in tasks)
    TaskScore.objects.bulk_create(
        TaskScore(entry=e, task=t, score=rng.uniform(-8, 4), reference_version=version)
        for e in entries for t in tasks)
    return entries
