"""CPU time of a cached read in the web process: the leaderboard page and API with the page
cache on and off, through Django's whole request stack (the test client), on Redis as in
production (a private ``redis-server`` started here) or the per-process memory cache.

    .venv/bin/python bench/bench_cached_reads.py [--entries 300] [--repeat 300] [--memory]

Seeds the published entries and ``--entries`` synthetic ones in a throwaway SQLite
database, makes one warm-up request per URL, then prints the CPU milliseconds per request
(``time.process_time``, so other load on the machine barely moves it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline.harness import RedisServer  # noqa: E402

URLS = ("/", "/api/v1/leaderboard/")


def setup_django(folder: Path, cache_url: str) -> None:
    # Production settings (DEBUG off: no query log), served over plain HTTP to the client.
    os.environ.update(DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
                      ELUE_VAR_DIR=str(folder), ELUE_CACHE_URL=cache_url,
                      ELUE_API_ANON_RATE="1000000/minute", DJANGO_SETTINGS_MODULE="elue.settings",
                      DJANGO_DEBUG="false", DJANGO_SECRET_KEY="bench-" + "k" * 60,
                      DJANGO_ALLOWED_HOSTS="testserver", DJANGO_SECURE_SSL_REDIRECT="false",
                      ELUE_STATIC_MANIFEST="false", ELUE_LOG_LEVEL="WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(entries: int) -> None:
    from leaderboard.scoring import rescore_all
    from leaderboard.seeding import load_published, load_reference
    from proof.synthetic import seed as synthetic

    version, _ = load_reference()
    load_published()
    rescore_all(version)
    synthetic(entries)


def cpu_ms_per_request(url: str, repeat: int, cached: bool) -> float:
    from django.conf import settings
    from django.test import Client

    settings.ELUE_CACHE_PAGES = cached
    client = Client()
    assert client.get(url).status_code == 200
    start = time.process_time()
    for _ in range(repeat):
        client.get(url)
    return (time.process_time() - start) * 1000 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--memory", action="store_true", help="the per-process memory cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elue-bench-reads-") as folder:
        redis = None if args.memory else RedisServer(Path(folder) / "redis").start()
        try:
            setup_django(Path(folder), "" if redis is None else redis.url)
            seed(args.entries)
            print(f"cache: {'per-process memory' if redis is None else 'Redis'}; "
                  f"{args.entries} synthetic entries; {args.repeat} requests each")
            for url in URLS:
                for cached in (False, True):
                    ms = cpu_ms_per_request(url, max(args.repeat // (1 if cached else 10), 5),
                                            cached)
                    print(f"{url:24} {'cached' if cached else 'uncached':9} {ms:7.2f} ms CPU "
                          "per request")
        finally:
            if redis is not None:
                redis.stop()


if __name__ == "__main__":
    main()
