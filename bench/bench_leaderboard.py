"""Server time of the leaderboard page with many entries.

Seeds ``--entries`` synthetic public entries, each with a point and a score on all six tasks,
in a throwaway SQLite database, then requests ``/`` (and a sorted, a track-filtered view)
through Django's full request stack ``--repeat`` times and prints the median and p95 server
time and the query count. The budget views rank each entry by its best point within a budget.

    .venv/bin/python bench/bench_leaderboard.py --entries 1000 --repeat 30
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

VIEWS = {"ranked": "/", "sorted by SST-2": "/?sort=sst-2&dir=desc",
         "track ≤ 70 M": "/?track=70", "task page (SST-2)": "/tasks/sst-2/",
         "budget": "/?max_mflops=5000&max_mparams=70",
         "task page, budget": "/tasks/sst-2/?max_mflops=5000&max_mparams=70"}


def setup_django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["ELUE_VAR_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elue.settings")
    # The computation of the page, not a cache hit (proof/read_load.py measures the cache).
    os.environ.setdefault("ELUE_CACHE_PAGES", "false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(url: str, repeat: int) -> dict:
    """Median and p95 milliseconds of ``repeat`` requests after one warm-up, and queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    assert client.get(url).status_code == 200
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    timings.sort()
    return {"median": statistics.median(timings),
            "p95": timings[min(len(timings) - 1, round(0.95 * len(timings)))],
            "queries": len(queries), "kib": len(response.content) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elue-bench-board-") as folder:
        setup_django(Path(folder))
        from leaderboard.seeding import load_reference
        from tests.web.synthetic import make_entries

        load_reference()
        make_entries(args.entries)
        print(f"{args.entries} entries x 6 tasks, SQLite, {args.repeat} requests per view")
        print(f"{'view':<20} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'KiB':>7}")
        for name, url in VIEWS.items():
            m = measure(url, args.repeat)
            print(f"{name:<20} {m['median']:>10.1f} {m['p95']:>8.1f} {m['queries']:>8} "
                  f"{m['kib']:>7.0f}")


if __name__ == "__main__":
    main()
