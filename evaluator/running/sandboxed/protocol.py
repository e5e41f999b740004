"""What a sandboxed job shares with the others: its failure type, its progress lines, its
result files and how a failure of submitted code is described.

A job writes its result to a fresh file in the scratch directory (``fresh`` removes whatever
the model's code may have left under that name, a link say), appends progress lines to
``progress.log`` and fails with ``JobFailed`` (a stable code and a message for the
submitter).
"""

from __future__ import annotations

import errno
import traceback
from collections.abc import Callable
from pathlib import Path

PROGRESS_FILE = "progress.log"
MODEL_CODE = "model.py"


class JobFailed(Exception):
    """The submission cannot be counted or run; ``code`` is a stable problem code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def fresh(name: str) -> Path:
    """``name`` in scratch with whatever the model's code left there (a link) removed. In
    the sandbox the output files are the worker's own, bound in: they cannot be replaced,
    and unlinking them fails with ``EBUSY``."""
    path = Path(name)
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        if error.errno != errno.EBUSY:
            raise
    return path


def progress(message: str) -> None:
    with open(PROGRESS_FILE, "a", encoding="utf-8") as handle:
        handle.write(message.replace("\n", " ") + "\n")


def describe(error: BaseException) -> str:
    """``"model.py line 12: ValueError: ..."``: the deepest frame in the submitter's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.endswith(MODEL_CODE) and "/evaluator/" not in f.filename]
    where = f"{MODEL_CODE} line {frames[-1].lineno}: " if frames else ""
    return f"{where}{type(error).__name__}: {error}"[:1000]


def point_name(threshold: float | None) -> str:
    return "static" if threshold is None else f"threshold {threshold:g}"


def reporter(threshold: float | None) -> Callable[[int, int], None]:
    """Progress of one run, a line per tenth of the examples."""
    name = point_name(threshold)
    shown = {"last": -1}

    def report(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth != shown["last"]:
            shown["last"] = tenth
            progress(f"{name}: {done:,} of {total:,} examples")
    return report
