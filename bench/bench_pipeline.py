"""The submission pipeline with real components: upload-to-leaderboard latency and throughput.

    .venv/bin/python bench/bench_pipeline.py [DATA_DIR] [--latency 20] [--queue 50]
        [--database sqlite|postgres] [--postgres-url postgres://postgres@127.0.0.1:5432/postgres]

Starts a private redis-server and real Celery workers (prefork, concurrency 1) on a throwaway
database: an SQLite file in a temporary folder, or a PostgreSQL database it creates and drops.
It imports the test data found in DATA_DIR (default ../shared/elue-data), seeds the reference
curve, then measures, with a declared-cost submission of every task found:

- latency: one worker; ``--latency`` submissions one after another, each timed from the call to
  ``submit_bundle`` until its entry is on the leaderboard with its scores;
- throughput: 1, then 2 worker processes draining a queue of ``--queue`` submissions. The
  workers are warmed up first (one evaluation each), then stop consuming the evaluation queue
  while the queue is filled, and start again when the clock starts.

Everything it starts is stopped and everything it creates is removed, also on failure.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline.harness import RedisServer, Workers, base_env, wait_for  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
QUEUE = "evaluation"
SCORED = re.compile(r"evaluate_submission\[[^\]]+\] succeeded in [\d.]+s: 'scored'")


def configure(var_dir: Path, database_url: str, broker_url: str, data_dir: Path) -> dict:
    """Point this process's settings (and the workers' environment) at the throwaway set-up.
    Heartbeat, stale and re-queue timings keep their production defaults."""
    env = base_env(DATABASE_URL=database_url, ELUE_BROKER_URL=broker_url, ELUE_VAR_DIR=var_dir,
                   ELUE_DATA_ROOT=var_dir / "data", ELUE_UPLOAD_DIR=var_dir / "uploads",
                   ELUE_DAILY_SUBMISSIONS=100_000, ELUE_DAILY_POINTS=10_000_000,
                   ELUE_MONTHLY_POINTS_PER_TASK=10_000_000, ELUE_LOG_LEVEL="WARNING")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    quiet = io.StringIO()
    call_command("migrate", verbosity=0, stdout=quiet)
    call_command("elue_import_data", str(data_dir), verbosity=0, stdout=quiet)
    call_command("elue_seed", verbosity=0, stdout=quiet)
    env["ELUE_LOG_LEVEL"] = "INFO"  # the workers' logs say which tasks they ran
    return env


def postgres_database(stack: ExitStack, base_url: str) -> str:
    """Create ``elue_bench_<pid>`` on the server of ``base_url``; dropped when ``stack`` closes."""
    import psycopg

    name = f"elue_bench_{os.getpid()}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return base_url.rsplit("/", 1)[0] + f"/{name}"


def bundle_for(tmp: Path, data_dir: Path) -> tuple[Path, tuple[str, ...]]:
    from evaluator.benchmark import TASKS
    from evaluator.data import available_tasks
    from tests.pipeline.bundles import declared_bundle

    slugs = tuple(t.slug for t in available_tasks(data_dir, list(TASKS.values())))
    return declared_bundle(tmp / "declared.zip", slugs), slugs


def wait_final(submissions: list, timeout: float, interval: float = 0.02) -> None:
    """Wait until every submission is final, running the reaper once a second as beat would
    (an attempt lost by a worker is retried once its heartbeat is stale, and shows as
    ``attempts`` > 1)."""
    from leaderboard.models import Submission
    from leaderboard.reaper import reap
    from leaderboard.tasks import enqueue_evaluation

    ids, last_reap = [s.pk for s in submissions], time.monotonic()

    def done() -> bool:
        nonlocal last_reap
        if time.monotonic() - last_reap > 1:
            reap(enqueue_evaluation)
            last_reap = time.monotonic()
        return not Submission.objects.filter(pk__in=ids).exclude(
            status__in=Submission.FINAL).exists()

    wait_for(done, timeout, interval, f"{len(ids)} submissions final")


def on_leaderboard(submission) -> bool:
    from leaderboard.models import Entry

    submission.refresh_from_db()
    return (submission.entry_id is not None and Entry.objects.public().filter(
        pk=submission.entry_id, scores__isnull=False).exists())


def phases(submission) -> dict[str, float]:
    """Seconds spent queued (until a worker claimed it) and evaluating (claim to scored)."""
    at = {}
    for event in submission.events.all():
        at.setdefault(event.status, event.at)
    return {"queued": (at["running"] - at["queued"]).total_seconds(),
            "evaluating": (at["scored"] - at["running"]).total_seconds()}


def measure_latency(workers: Workers, owner, bundle: Path, count: int) -> dict:
    from leaderboard.submissions import submit_bundle

    workers.start()
    first = time.perf_counter()
    submission = submit_bundle(owner, bundle, name="warm-up")
    wait_for(lambda: on_leaderboard(submission), 120, 0.02, "warm-up scored")
    cold = time.perf_counter() - first
    totals, calls, parts = [], [], []
    for i in range(count):
        start = time.perf_counter()
        submission = submit_bundle(owner, bundle, name=f"latency {i}")
        calls.append(time.perf_counter() - start)
        wait_for(lambda s=submission: on_leaderboard(s), 120, 0.02, f"latency {i} scored")
        totals.append(time.perf_counter() - start)
        parts.append(phases(submission))
    workers.stop_all()
    return {"cold": cold, "totals": totals, "calls": calls, "parts": parts}


def control(command: str, expected: int) -> None:
    """Tell every worker to stop or start consuming the evaluation queue; wait for replies."""
    from elue.celery import app

    replies = getattr(app.control, command)(QUEUE, reply=True, timeout=5)
    assert len(replies) == expected, f"{command}: {len(replies)} of {expected} replied"


def measure_throughput(make_workers, owner, bundle: Path, processes: int, count: int) -> dict:
    from django.utils import timezone

    from leaderboard.models import Submission
    from leaderboard.submissions import submit_bundle

    workers = make_workers(f"throughput-{processes}")
    started = [workers.start(ready=False) for _ in range(processes)]
    for worker in started:
        worker.wait_ready()
    warm = [submit_bundle(owner, bundle, name=f"warm {processes}.{i}") for i in range(processes)]
    wait_final(warm, 120)
    control("cancel_consumer", processes)
    fill = time.perf_counter()
    queued = [submit_bundle(owner, bundle, name=f"queue {processes}.{i}") for i in range(count)]
    fill = time.perf_counter() - fill
    start = timezone.now()
    control("add_consumer", processes)
    wait_final(queued, 600)
    rows = Submission.objects.filter(pk__in=[s.pk for s in queued])
    end = max(rows.values_list("finished_at", flat=True))
    workers.stop_all()
    seconds = (end - start).total_seconds()
    return {"processes": processes, "seconds": seconds, "per_minute": count / seconds * 60,
            "fill": fill, "scored": rows.filter(status="scored").count(),
            "retried": rows.filter(attempts__gt=1).count(),
            "split": [len(SCORED.findall(w.output())) for w in started]}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(latency: dict, throughput: list[dict], slugs: tuple[str, ...], database: str) -> None:
    totals, parts = latency["totals"], latency["parts"]
    print(f"\nDeclared-cost submission on {len(slugs)} tasks ({', '.join(slugs)}); "
          f"Redis broker; {database} database")
    print("| measure | median | p95 | min | max |")
    print("|---|---|---|---|---|")
    for label, values in (
            ("upload to scored, on the leaderboard (s)", totals),
            ("  submit_bundle call: checks + storing (s)", latency["calls"]),
            ("  queued, until a worker claims it (s)", [p["queued"] for p in parts]),
            ("  evaluating, claim to scored (s)", [p["evaluating"] for p in parts])):
        print(f"| {label} | {statistics.median(values):.2f} | {p95(values):.2f} | "
              f"{min(values):.2f} | {max(values):.2f} |")
    print(f"first submission to a fresh worker: {latency['cold']:.2f} s ({len(totals)} timed)")
    print("\n| worker processes | drain time (s) | submissions/minute | scored | retried "
          "| per worker | filling the queue (s) |")
    print("|---|---|---|---|---|---|---|")
    for row in throughput:
        print(f"| {row['processes']} | {row['seconds']:.1f} | {row['per_minute']:.0f} | "
              f"{row['scored']} | {row['retried']} | {'/'.join(map(str, row['split']))} | "
              f"{row['fill']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--latency", type=int, default=20, help="submissions timed one by one")
    parser.add_argument("--queue", type=int, default=50, help="submissions in the drained queue")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()

    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="elue-bench-pipeline-"))
        if not args.keep:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        redis = RedisServer(tmp / "redis").start()
        stack.callback(redis.stop)
        database_url = (postgres_database(stack, args.postgres_url)
                        if args.database == "postgres" else f"sqlite:///{tmp / 'bench.sqlite3'}")
        env = configure(tmp / "var", database_url, redis.url, args.data_dir.resolve())
        all_workers: list[Workers] = []
        stack.callback(lambda: [w.stop_all() for w in all_workers])

        def make_workers(name: str) -> Workers:
            all_workers.append(Workers(lambda: dict(env), tmp / "logs" / name))
            return all_workers[-1]

        from django.contrib.auth import get_user_model

        from leaderboard.accounts import mark_confirmed

        owner = get_user_model().objects.create_user("bench", "bench@example.org", "pw")
        mark_confirmed(owner)
        bundle, slugs = bundle_for(tmp, args.data_dir)
        latency = measure_latency(make_workers("latency"), owner, bundle, args.latency)
        throughput = [measure_throughput(make_workers, owner, bundle, n, args.queue)
                      for n in (1, 2)]
        report(latency, throughput, slugs, args.database)
        if args.keep:
            print(f"\nlogs and database kept in {tmp}")


if __name__ == "__main__":
    main()
