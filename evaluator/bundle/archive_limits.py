"""The caps on what one upload may unpack to, and the bytes really written counted against them
(declared sizes can lie).

    >>> budget = Budget(ArchiveLimits(max_total_bytes=10 * MiB))
    >>> copy_capped(handle, scratch / "sst-2.tsv", "sst-2.tsv", budget)  # bytes written
    2048
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from evaluator.errors import Problem, SubmissionInvalid

MiB = 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on what one upload may unpack to (Django settings map onto these).

    ``max_ratio`` is uncompressed/compressed size, checked for members of at least
    ``ratio_min_bytes`` (small files compress well without being bombs) and for the
    archive as a whole. Sizes are in bytes.
    """

    max_members: int = 200
    max_total_bytes: int = 512 * MiB
    max_file_bytes: int = 512 * MiB
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 * MiB


DEFAULT_LIMITS = ArchiveLimits()


def readable_size(n: int) -> str:
    """``"3 MiB"`` from a megabyte on, else ``"1,024 bytes"``."""
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


@dataclass
class Budget:
    """Bytes still allowed, counted as they are written (declared sizes can lie).

    ``ratio_ceiling`` is the most a zip file may unpack to given its own size on disk.
    """

    limits: ArchiveLimits
    ratio_ceiling: int | None = None
    written: int = 0

    def spend(self, name: str, file_bytes: int, more: int) -> None:
        """Account ``more`` bytes of file ``name``, which now has ``file_bytes`` bytes."""
        self.written += more
        limits = self.limits
        if file_bytes > limits.max_file_bytes:
            raise SubmissionInvalid([Problem("archive_too_large", "unpacks to more than "
                                     f"{readable_size(limits.max_file_bytes)}", name)])
        if self.written > limits.max_total_bytes:
            raise SubmissionInvalid([Problem(
                "archive_too_large", "the submission unpacks to more than "
                f"{readable_size(limits.max_total_bytes)} in all")])
        if self.ratio_ceiling is not None and self.written > self.ratio_ceiling:
            raise SubmissionInvalid([Problem("archive_ratio", "the archive unpacks to more "
                                     f"than {limits.max_ratio:g} times its own size, which "
                                     "only a zip bomb does", name)])


def copy_capped(src: IO[bytes], dest: Path, name: str, budget: Budget) -> int:
    """Stream ``src`` into a new file ``dest``, stopping as soon as a cap is passed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    size = 0
    with os.fdopen(os.open(dest, flags, 0o600), "wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            budget.spend(name, size, len(chunk))
            out.write(chunk)
    return size
