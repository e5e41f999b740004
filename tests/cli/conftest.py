"""Running the installed ``elue`` console script against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leaderboard.tokens import create_token


def elue_command() -> list[str]:
    """The console script next to this interpreter (``pip install -e .``), else the module."""
    script = Path(sys.executable).parent / "elue"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "elue_cli"]


class Elue:
    """Runs ``elue`` as a subprocess with a server URL, a token, and no user config file."""

    def __init__(self, url: str, token: str | None, home: Path):
        self.url, self.token, self.home = url, token, home

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ELUE_")}
        env.update(ELUE_URL=self.url, ELUE_CONFIG=str(self.home / "config.toml"),
                   HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        if self.token:
            env["ELUE_TOKEN"] = self.token
        env.update(extra)
        return env

    def __call__(self, *args: str, timeout: float = 180, **extra: str):
        return subprocess.run([*elue_command(), *args], capture_output=True, text=True,
                              env=self.env(**extra), timeout=timeout, check=False)


@pytest.fixture
def alice_token(alice) -> str:
    return create_token(alice, "CLI test").plaintext
