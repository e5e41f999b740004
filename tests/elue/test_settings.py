"""Settings come from the environment and work with nothing set."""

import json
import os
import subprocess
import sys

import pytest

from elue.env import env_bool, env_int
from tests.conftest import REPO_DIR

PROBE = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
    "'host': s.DATABASES['default'].get('HOST'), 'broker': s.CELERY_BROKER_URL,"
    "'options': getattr(s, 'CELERY_BROKER_TRANSPORT_OPTIONS', None),"
    "'data': str(s.ELUE_DATA_ROOT), 'uploads': str(s.MEDIA_ROOT)}))"
)


def settings_with(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATABASE_", "ELUE_", "DJANGO_"))}
    clean.update(ELUE_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="elue.settings", **env)
    code = f"import django; django.setup(); {PROBE}"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, env=clean,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_it_defaults_to_sqlite_and_the_filesystem_broker_under_var(tmp_path):
    found = settings_with(tmp_path)
    var = tmp_path / "var"
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(var / "elue.sqlite3")
    assert found["broker"] == "filesystem://"
    assert found["options"]["data_folder_in"] == str(var / "broker" / "queue")
    assert (var / "broker" / "queue").is_dir()
    assert found["data"] == str(var / "data") and found["uploads"] == str(var / "uploads")


def test_database_url_selects_postgresql(tmp_path):
    found = settings_with(tmp_path, DATABASE_URL="postgres://elue@db.internal:5432/elue")
    assert found["engine"] == "django.db.backends.postgresql"
    assert (found["name"], found["host"]) == ("elue", "db.internal")


def test_the_broker_url_selects_redis(tmp_path):
    found = settings_with(tmp_path, ELUE_BROKER_URL="redis://127.0.0.1:6379/3")
    assert found["broker"] == "redis://127.0.0.1:6379/3"
    # Unacknowledged messages of a dead worker come back after the hard limit + 5 minutes.
    assert found["options"] == {"visibility_timeout": 1860 + 300}


def test_env_helpers_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("X_FLAG", "perhaps")
    with pytest.raises(ValueError, match="X_FLAG='perhaps'"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUMBER", "ten")
    with pytest.raises(ValueError, match="expected a whole number"):
        env_int("X_NUMBER", 1)
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG", True) is False


def test_the_sandbox_budget_must_end_before_the_task_soft_limit(tmp_path):
    found = settings_with(tmp_path, ELUE_SANDBOX_BUDGET_SECONDS="1700")  # soft limit 1800
    assert found["engine"]
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATABASE_", "ELUE_", "DJANGO_"))}
    clean.update(ELUE_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="elue.settings",
                 ELUE_SANDBOX_BUDGET_SECONDS="1790")
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO_DIR,
                          env=clean, capture_output=True, text=True)
    assert done.returncode != 0
    assert "ELUE_SANDBOX_BUDGET_SECONDS=1790 must be at least 60 s below " \
           "ELUE_TASK_SOFT_TIME_LIMIT=1800" in done.stderr
