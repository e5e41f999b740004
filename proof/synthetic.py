"""Synthetic published entries for the read load: a leaderboard of realistic size.

Run inside the site's Django (``Site.django``): ``print(seed(300))``.
"""

from __future__ import annotations

import random

from evaluator.benchmark import TASK_ORDER


def seed(count: int, seed: int = 7) -> int:
    """``count`` public published entries with 1-4 points on each of 1-6 tasks, scored."""
    from leaderboard.models import Basis, Entry, OperatingPoint, ReferenceVersion, Task
    from leaderboard.scoring import rescore_all

    rng = random.Random(seed)
    tasks = {t.slug: t for t in Task.objects.all()}
    entries = Entry.objects.bulk_create(
        Entry(name=f"Synthetic model {i:04d}", kind=Entry.Kind.PUBLISHED, is_dynamic=True,
              paper_url="https://example.org/paper", code_url="https://example.org/code")
        for i in range(count))
    points = []
    for entry in entries:
        mparams = rng.uniform(10, 120)
        for slug in rng.sample(TASK_ORDER, rng.randint(1, len(TASK_ORDER))):
            for n in range(rng.randint(1, 4)):
                points.append(OperatingPoint(
                    entry=entry, task=tasks[slug], name=f"p{n}", mflops=rng.uniform(300, 9000),
                    performance=rng.uniform(55, 95), mparams=mparams,
                    mflops_basis=Basis.DECLARED))
    OperatingPoint.objects.bulk_create(points)
    rescore_all(ReferenceVersion.objects.current())
    return count
