"""The deployment files: every setting documented, the compose file valid."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_DIR

DOCKER = REPO_DIR / "docker"
READ = re.compile(r'env_(?:str|bool|int|list|path)\(\s*"([A-Z0-9_]+)"')


def listed_variables() -> set[str]:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z0-9_]+=", line)}


def test_env_example_lists_every_variable_the_settings_read():
    read = {name for path in (REPO_DIR / "elue").glob("*.py")
            for name in READ.findall(path.read_text())}
    assert len(read) > 30
    assert read - listed_variables() == set()


def test_env_example_lists_the_variables_the_entrypoint_reads():
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", entrypoint)) - {"PORT"}
    assert used and used - listed_variables() == set()


def test_the_compose_file_validates_with_docker_compose(tmp_path):
    """`docker-compose config` (Debian's package, no engine needed) parses and resolves it.
    It reads `.env` beside the file, so the check runs on a copy with the example as .env."""
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed: `make test` installs it (apt)")
    shutil.copy(DOCKER / "compose.yml", tmp_path / "compose.yml")
    shutil.copy(DOCKER / ".env.example", tmp_path / ".env")
    done = subprocess.run(["docker-compose", "-f", str(tmp_path / "compose.yml"), "config"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for service in ("web:", "worker:", "beat:", "db:", "redis:", "migrate:", "s3:"):
        assert f"  {service}" in done.stdout
    assert "DATABASE_URL: postgres://elue:elue@db:5432/elue" in done.stdout
    # Uploads and test data in the object store, with the key the S3 server is given.
    assert ("ELUE_STORAGE_URL: s3+http://elue:change-me-to-a-long-random-s3-secret@s3:8333/"
            "elue") in done.stdout
    assert "AWS_SECRET_ACCESS_KEY: change-me-to-a-long-random-s3-secret" in done.stdout
