"""Copying a submission given as a folder (the offline checker's usual input) into the scratch
directory: links are never followed, only plain files and folders are accepted, and the bytes
copied count against the same limits as a zip file's.

    >>> copy_folder(Path("output"), Path("/tmp/scratch-42"), DEFAULT_LIMITS)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from evaluator.bundle.archive_limits import ArchiveLimits, Budget, copy_capped
from evaluator.bundle.member_paths import MAX_DEPTH, is_junk, target_path
from evaluator.errors import Problem, SubmissionInvalid


def copy_folder(source: Path, scratch: Path, limits: ArchiveLimits) -> None:
    """Copy a folder tree without following links; refuse anything but files and folders."""
    entries = _walk(source, (), limits)
    budget = Budget(limits)
    for parts, is_dir in entries:
        path = target_path(scratch, parts)
        if is_dir:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            _copy_file(source.joinpath(*parts), path, "/".join(parts), budget)


def _walk(root: Path, prefix: tuple[str, ...], limits: ArchiveLimits,
          found: list | None = None) -> list[tuple[tuple[str, ...], bool]]:
    found = [] if found is None else found
    for entry in sorted(os.scandir(root.joinpath(*prefix)), key=lambda e: e.name):
        parts = (*prefix, entry.name)
        if is_junk(parts):
            continue
        mode = os.lstat(entry.path).st_mode
        _check_folder_entry(parts, mode)
        found.append((parts, stat.S_ISDIR(mode)))
        if len(found) > limits.max_members:
            raise SubmissionInvalid([Problem("archive_too_many_members", "more than "
                                     f"{limits.max_members:,} files and folders")])
        if stat.S_ISDIR(mode):
            _walk(root, parts, limits, found)
    return found


def _check_folder_entry(parts: tuple[str, ...], mode: int) -> None:
    name = "/".join(parts)
    if stat.S_ISLNK(mode):
        raise SubmissionInvalid([Problem("archive_symlink", "is a symbolic link; only "
                                         "plain files are accepted", name)])
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise SubmissionInvalid([Problem("archive_special_file", "is a device, pipe or "
                                         "socket; only plain files are accepted", name)])
    if len(parts) > MAX_DEPTH:
        raise SubmissionInvalid([Problem("archive_unsafe_path", "is nested too deeply",
                                         name)])


def _copy_file(src: Path, dest: Path, name: str, budget: Budget) -> None:
    # O_NOFOLLOW and fstat close the gap between the lstat in _walk and this open: a file
    # swapped for a link or a pipe in between is still refused.
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionInvalid([Problem("archive_special_file", "is not a plain file",
                                             name)])
        copy_capped(handle, dest, name, budget)
