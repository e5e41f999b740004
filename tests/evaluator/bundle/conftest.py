"""Fixtures of the bundle tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def out(tmp_path) -> Path:
    """The folder a submitter fills, then uploads (as a folder or zipped)."""
    folder = tmp_path / "output"
    folder.mkdir()
    return folder
