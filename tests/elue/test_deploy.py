"""Production settings: `check --deploy` is clean, nothing insecure starts, logs are JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO_DIR

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-production-secret-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "elue.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://elue.example.org",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "true",
    "DATABASE_URL": "postgres://elue:elue@db.internal:5432/elue",
    "ELUE_BROKER_URL": "redis://redis.internal:6379/0",
}


def run(tmp_path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATABASE_", "ELUE_", "DJANGO_"))}
    clean.update(ELUE_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="elue.settings",
                 **env)
    return subprocess.run([sys.executable, *args], cwd=REPO_DIR, env=clean,
                          capture_output=True, text=True)


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    done = run(tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
               **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_it_refuses_to_start_without_a_secret_key_outside_debug(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    done = run(tmp_path, ["manage.py", "check"], **env)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in done.stderr


def test_production_logs_are_one_json_object_per_line(tmp_path):
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('elue.probe').warning('disk at %d%%', 91)")
    done = run(tmp_path, ["-c", code], **PRODUCTION)
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["level"] == "WARNING" and record["logger"] == "elue.probe"
    assert record["message"] == "disk at 91%" and "time" in record


def test_development_logs_stay_readable_text(tmp_path):
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('elue.probe').warning('hello')")
    done = run(tmp_path, ["-c", code])
    assert done.stdout.strip().endswith("WARNING elue.probe: hello")


def test_the_cache_url_shares_throttle_counters_in_redis(tmp_path):
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get("
            "'LOCATION'))")
    shared = run(tmp_path, ["-c", code], ELUE_CACHE_URL="redis://cache.internal:6379/1")
    assert shared.stdout.split() == ["elue.cache.RedisCache",
                                     "redis://cache.internal:6379/1"]
    local = run(tmp_path, ["-c", code])
    assert local.stdout.split()[0] == "django.core.cache.backends.locmem.LocMemCache"
