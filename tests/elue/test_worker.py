"""`make run`'s defaults end to end: a real Celery worker process on the embedded
(filesystem) broker executes a task against a real SQLite database."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_DIR


@pytest.fixture
def var_env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "ELUE_", "DJANGO_"))}
    env["ELUE_VAR_DIR"] = str(tmp_path)
    return env


def manage(env, *args) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_DIR, env=env,
                          capture_output=True, text=True, check=True).stdout


def score_count(database) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("select count(*) from leaderboard_taskscore").fetchone()[0]


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_on_the_embedded_broker_rescores_entries(tmp_path, var_env):
    manage(var_env, "migrate", "--noinput")
    manage(var_env, "elue_seed")
    database = tmp_path / "elue.sqlite3"
    seeded_scores = score_count(database)
    assert seeded_scores == 92  # 12 entries on 6 tasks, 4 on 5
    # Clear the scores, then enqueue the rescore before any worker exists: the message waits.
    manage(var_env, "shell", "-c",
           "from leaderboard.models import TaskScore, ReferenceVersion as R;"
           "from leaderboard.tasks import rescore_entries;"
           "TaskScore.objects.all().delete(); rescore_entries.delay(R.objects.current().pk)")
    assert score_count(database) == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "elue", "worker", "--queues", "site,evaluation",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO_DIR, env=var_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: score_count(database) == seeded_scores, 60)
    finally:
        worker.terminate()
        worker.wait(30)
