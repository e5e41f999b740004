"""The workers' working directories: one per evaluation attempt, under ``ELUE_WORK_DIR``,
named for its submission and attempt (``elue-sub-42-a2-x1y2z3``), and swept once that
attempt is over.

An attempt removes its directory (the unpacked bundle, the sandbox's scratch, the token
ids) when it ends; a worker killed mid-way (``kill -9``, the hard time limit, a lost
machine) cannot. ``sweep`` removes every directory whose attempt no longer runs: a worker
calls it when it starts, and the reaper on every round.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from leaderboard.models import Submission

logger = logging.getLogger(__name__)
NAME = re.compile(r"elue-sub-(?P<submission>\d+)-a(?P<attempt>\d+)-")


def work_root() -> Path:
    root = Path(settings.ELUE_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def attempt_directory(submission_id: int, attempt: int) -> Iterator[Path]:
    """A fresh directory for one attempt at a submission, removed when it ends."""
    prefix = f"elue-sub-{submission_id}-a{attempt}-"
    # A sweep may remove it first once the attempt is over (or superseded): no error then.
    with tempfile.TemporaryDirectory(prefix=prefix, dir=work_root(),
                                     ignore_cleanup_errors=True) as path:
        yield Path(path)


def running_attempts(submission_ids: set[int]) -> set[tuple[int, int]]:
    """(submission, attempt) of those among ``submission_ids`` running now."""
    return set(Submission.objects.filter(pk__in=submission_ids,
                                         status=Submission.Status.RUNNING)
               .values_list("pk", "attempts"))


def sweep() -> int:
    """Remove the directories of attempts that no longer run; returns how many."""
    root = work_root()
    found = {}
    for path in root.iterdir():
        match = NAME.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            found[path] = (int(match["submission"]), int(match["attempt"]))
    alive = running_attempts({submission for submission, _ in found.values()})
    removed = 0
    for path, attempt in found.items():
        if attempt not in alive:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d working directories of finished attempts", removed)
    return removed
