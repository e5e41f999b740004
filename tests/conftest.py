"""Shared test fixtures: where the real ELUE data lives, and named actors."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.actors", "tests.stack"]

REPO_DIR = Path(__file__).resolve().parent.parent
ELUE_DATA_DIR = REPO_DIR.parent / "shared" / "elue-data"


@pytest.fixture
def elue_data() -> Path:
    """The real ELUE data (five tasks; IMDb is not available here)."""
    if not ELUE_DATA_DIR.is_dir():
        pytest.fail(f"the real ELUE data is expected at {ELUE_DATA_DIR}")
    return ELUE_DATA_DIR


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache. Board versions (the key of cached pages) are
    numbers in the database, which a test's rollback takes back: a later test would
    otherwise be served an earlier test's page under the same number."""
    # Imported here, not with the module: the sandbox tests' child processes import this
    # file (through the test modules) without Django being set up.
    from django.core.cache import cache

    from leaderboard.board_cache import recent

    cache.clear()
    recent.clear()


@pytest.fixture(scope="session")
def work_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("work")


@pytest.fixture(autouse=True)
def private_work_dir(settings, work_root):
    """The evaluation attempts of this test run work (and are swept) in a folder of its own,
    never in a checkout's var/ where another run may be working."""
    settings.ELUE_WORK_DIR = work_root


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and at the end no other session left on it: a Celery
    worker killed by the last test may still hold a PostgreSQL connection for a moment, and
    DROP DATABASE refuses to run while one does (the database would be left behind)."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
