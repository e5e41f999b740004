"""Where the client finds its server and token: environment first, then a config file.

``ELUE_URL`` and ``ELUE_TOKEN``, else ``url`` and ``token`` in the TOML file at
``ELUE_CONFIG`` or ``$XDG_CONFIG_HOME/elue/config.toml`` (``~/.config/elue/config.toml``)::

    url = "https://elue.example.org"
    token = "elue_3f2a…"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


class ConfigError(Exception):
    """A config file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Config:
    url: str
    token: str | None
    path: Path  # the config file consulted (it may not exist)


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("ELUE_CONFIG"):
        return Path(env["ELUE_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "elue" / "config.toml"


def read_file(path: Path) -> dict:
    """The file's settings; ``{}`` when it does not exist."""
    if not path.is_file():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); expected lines like "
                          'token = "elue_…"') from None
    for key in ("url", "token"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"{path}: {key} must be a quoted string")
    return values


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    path = config_path(env)
    values = read_file(path)
    url = env.get("ELUE_URL") or values.get("url") or DEFAULT_URL
    token = env.get("ELUE_TOKEN") or values.get("token") or None
    return Config(url=url.rstrip("/"), token=token.strip() if token else None, path=path)
