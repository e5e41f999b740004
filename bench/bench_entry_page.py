"""Server time of an entry page by number of points: the one-sweep Pareto standing against
the former one, ``dominators`` per point (quadratic; issue 13, finding 6).

Seeds the benchmark (reference curve, published entries, scores) in a throwaway SQLite
database, adds an entry with ``N`` points on SST-2 for each ``--points`` (inserted directly:
the points cap refuses such entries through the site and the API, but a cap raised by the
operator, or an entry from before the cap, may hold them), then requests its page through
Django's full request stack ``--repeat`` times, and times the former computation of the same
standing once.

    .venv/bin/python bench/bench_entry_page.py --points 500 2000 8000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup_django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["ELUE_VAR_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elue.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def add_entry(points: int):
    """A public entry with ``points`` points on SST-2, along a rising curve."""
    from leaderboard.models import Basis, Entry, OperatingPoint, Task

    task = Task.objects.get(slug="sst-2")
    entry = Entry.objects.create(name=f"Curve of {points}", kind=Entry.Kind.PUBLISHED,
                                 is_dynamic=True)
    OperatingPoint.objects.bulk_create(
        OperatingPoint(entry=entry, task=task, name=f"p{i}", mflops=100.0 + i,
                       performance=60.0 + 35.0 * i / points, mflops_basis=Basis.DECLARED)
        for i in range(points))
    return entry, task


def page_ms(entry, repeat: int) -> tuple[float, int]:
    """Median milliseconds of the entry page over ``repeat`` requests, and its queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client, timings = Client(), []
    for _ in range(repeat):
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/entries/{entry.pk}/").status_code == 200
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), len(queries)


def former_standing_ms(entry, task) -> float:
    """The former ``task_status``: every competing point as a model instance with its entry,
    then ``dominators`` for each of the entry's points."""
    from django.db.models import Q

    from evaluator.pareto import Point, dominators
    from leaderboard.models import Entry, OperatingPoint

    start = time.perf_counter()
    points = list(OperatingPoint.objects.filter(task=task).filter(
        Entry.shown_publicly("entry__") | Q(entry=entry)).select_related("entry"))
    coords = [Point(p.mflops, p.performance) for p in points]
    for index, point in enumerate(points):
        if point.entry_id == entry.pk:
            {points[i].entry_id for i in dominators(coords, index)
             if points[i].entry_id != entry.pk}
    return (time.perf_counter() - start) * 1000


def sweep_standing_ms(entry, task) -> float:
    from leaderboard.standing import task_status

    start = time.perf_counter()
    task_status(entry, task)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elue-bench-entry-") as folder:
        setup_django(Path(folder))
        from leaderboard.scoring import rescore_all
        from leaderboard.seeding import load_published, load_reference

        version, _ = load_reference()
        load_published()
        rescore_all(version)
        print(f"entry page, SQLite, median of {args.repeat} requests; standing of SST-2 alone")
        print(f"{'points':>7} {'page ms':>9} {'queries':>8} {'sweep ms':>9} {'former ms':>10}")
        for n in args.points:
            entry, task = add_entry(n)
            ms, queries = page_ms(entry, args.repeat)
            print(f"{n:>7} {ms:>9.1f} {queries:>8} {sweep_standing_ms(entry, task):>9.1f} "
                  f"{former_standing_ms(entry, task):>10.1f}", flush=True)


if __name__ == "__main__":
    main()
