"""Reading an uploaded submission (a zip file or a folder) into a scratch directory.

Uploads are hostile until proven otherwise. The end-of-central-directory record is read
first: too many entries are refused before the archive is opened. Then every member is
checked before anything is written: no absolute paths, no ``..``, no symlinks, devices or
pipes, no encryption, no exotic compression, and the declared sizes stay under
:class:`ArchiveLimits`. While
extracting, the bytes really written are counted too, because declared sizes can lie.
Nothing is ever written outside the scratch directory, and on refusal the scratch
directory is emptied again.

Example::

    root = unpack(Path("upload.zip"), Path("/tmp/scratch-42"))
    # root is the scratch dir, or the single folder that wrapped everything in the zip
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from evaluator.errors import Problem, SubmissionInvalid

MiB = 1024 * 1024
CHUNK = 64 * 1024
MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255  # one path component; longer names cannot be created on Linux
MAX_DEPTH = 16
MAX_REPORTED = 20
# A central directory entry is 46 bytes plus its name (at most MAX_PATH_CHARS characters, up
# to 4 bytes each), extra fields and comment: real tools write a few dozen bytes of extras.
DIRECTORY_BYTES_PER_MEMBER = 8 * 1024

# Files that archivers and desktops add on their own; never part of a submission.
JUNK_DIRS = frozenset({"__MACOSX"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

# bzip2 and LZMA members are decompressed by zipfile without an output bound, so one
# small read could expand to gigabytes in memory. No common zip tool needs them.
SAFE_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
SAFE_MODES = frozenset({0, stat.S_IFREG, stat.S_IFDIR})


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


def is_junk(parts: tuple[str, ...]) -> bool:
    """Whether a relative path is operating-system litter (``__MACOSX/``, ``.DS_Store``)."""
    name = parts[-1]
    return (bool(JUNK_DIRS.intersection(parts)) or name in JUNK_FILES
            or name.startswith("._"))


def unpack(source: Path, scratch: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Path:
    """Copy the submission at ``source`` (a ``.zip`` file or a folder) into ``scratch``.

    ``scratch`` must be missing or empty; it is created if needed. Returns the content
    root: ``scratch`` itself, or the single top-level folder that wraps everything (an
    output folder zipped as it is). Raises ``SubmissionInvalid`` with stable ``archive_*``
    codes; the scratch directory is left empty then.
    """
    source, scratch = Path(source), Path(scratch)
    _prepare_scratch(scratch)
    try:
        if source.is_dir():
            _copy_folder(source, scratch, limits)
        else:
            _extract_zip(source, scratch, limits)
    except BaseException:
        _empty(scratch)
        raise
    return content_root(scratch)


def content_root(scratch: Path) -> Path:
    """``scratch``, or its only entry when that is a folder (except ``model/``)."""
    entries = list(scratch.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name != "model":
        return entries[0]
    return scratch


def _prepare_scratch(scratch: Path) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    if any(scratch.iterdir()):
        # A programming error, not the submitter's: we must never mix two uploads.
        raise ValueError(f"scratch directory {scratch} is not empty")


def _empty(scratch: Path) -> None:
    for entry in scratch.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _refuse(problems: list[Problem]) -> None:
    """Raise with at most ``MAX_REPORTED`` problems and a count of the rest."""
    if len(problems) > MAX_REPORTED:
        rest = len(problems) - MAX_REPORTED
        problems = problems[:MAX_REPORTED] + [Problem(
            "too_many_problems", f"... and {rest:,} more problems like these")]
    raise SubmissionInvalid(problems)


# --- member names -------------------------------------------------------------------------

def safe_parts(name: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Split an archive member name into path components, or say why it is unsafe.

    Backslashes count as separators (some Windows tools write them); ``.`` and empty
    components are dropped. Returns ``(parts, None)`` or ``(None, reason)``.
    """
    text = name.replace("\\", "/")
    if any(ord(c) < 32 for c in text):
        return None, "contains control characters"
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None, "is an absolute path"
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if ".." in parts:
        return None, 'contains ".." (a path outside the submission)'
    if len(text) > MAX_PATH_CHARS or len(parts) > MAX_DEPTH:
        return None, "is too long or too deeply nested"
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
        return None, f"has a file or folder name longer than {MAX_NAME_BYTES} bytes"
    if not parts:
        return None, "is empty"
    return parts, None


def _target(scratch: Path, parts: tuple[str, ...]) -> Path:
    """The path for ``parts`` under ``scratch``, re-checked after resolution (defence in depth)."""
    path = scratch.joinpath(*parts)
    if not path.resolve().is_relative_to(scratch.resolve()):
        raise SubmissionInvalid([Problem("archive_unsafe_path", "resolves outside the "
                                         "submission", "/".join(parts))])
    return path


# --- writing, with bytes counted --------------------------------------------------------

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
                                     f"{_size(limits.max_file_bytes)}", name)])
        if self.written > limits.max_total_bytes:
            raise SubmissionInvalid([Problem("archive_too_large", "the submission unpacks "
                                     f"to more than {_size(limits.max_total_bytes)} in all")])
        if self.ratio_ceiling is not None and self.written > self.ratio_ceiling:
            raise SubmissionInvalid([Problem("archive_ratio", "the archive unpacks to more "
                                     f"than {limits.max_ratio:g} times its own size, which "
                                     "only a zip bomb does", name)])


def _size(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


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


# --- zip files ----------------------------------------------------------------------------

def _extract_zip(source: Path, scratch: Path, limits: ArchiveLimits) -> None:
    try:
        check_directory_size(source, limits)
        with zipfile.ZipFile(source) as archive:
            members = _checked_members(archive.infolist(), limits)
            # The archive's own size bounds the compressed bytes zipfile can read, so this
            # caps the real ratio even when a member's declared compressed size lies.
            ceiling = max(int(source.stat().st_size * limits.max_ratio), limits.ratio_min_bytes)
            budget = Budget(limits, ratio_ceiling=ceiling)
            for info, parts in members:
                _extract_member(archive, info, parts, scratch, budget)
    # Crafted headers surface as any of these from zipfile's parsing and inflating.
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error,
            NotImplementedError) as exc:
        raise SubmissionInvalid([_corrupt(exc)]) from None


def check_directory_size(source: Path, limits: ArchiveLimits) -> None:
    """Refuse by the end-of-central-directory record, before ``zipfile`` parses the central
    directory: it builds an object per entry, so a 47 MB upload of 1,000,000 empty entries
    would cost seconds and hundreds of megabytes before the member count could be checked.

    ``zipfile`` reads as many entries as fit in the directory's declared size, whatever the
    declared count, so both are bounded.
    """
    with open(source, "rb") as handle:
        # The record zipfile itself will use (its own search, ZIP64 included).
        # Private helpers missing from typeshed's zipfile stubs.
        record = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    if record is None:
        return  # no record: zipfile refuses the file as not a zip
    entries = record[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]  # private
    directory_bytes = record[zipfile._ECD_SIZE]  # type: ignore[attr-defined]  # private
    if entries > limits.max_members:
        raise SubmissionInvalid([Problem("archive_too_many_members", f"{entries:,} entries, "
                                         f"at most {limits.max_members:,} allowed")])
    most = limits.max_members * DIRECTORY_BYTES_PER_MEMBER
    if directory_bytes > most:
        raise SubmissionInvalid([Problem(
            "archive_too_many_members", f"the archive's list of entries takes "
            f"{_size(directory_bytes)}, more than {limits.max_members:,} entries need "
            f"({_size(most)} at most)")])


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return archive.open(info)
    except OSError as exc:  # a crafted local-header offset: a seek outside the file
        raise SubmissionInvalid([_corrupt(exc)]) from None


def _corrupt(exc: Exception) -> Problem:
    # No file name: the upload's name on the server means nothing to the submitter.
    detail = str(exc) or type(exc).__name__
    return Problem("archive_corrupt", f"the upload is not a readable zip archive ({detail})")


def _checked_members(infos: list[zipfile.ZipInfo], limits: ArchiveLimits
                     ) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Check the whole central directory before writing a byte; report every problem."""
    if len(infos) > limits.max_members:
        raise SubmissionInvalid([Problem("archive_too_many_members", f"{len(infos):,} "
                                         f"entries, at most {limits.max_members:,} allowed")])
    problems, members = [], []
    for info in infos:
        parts, problem = _check_member(info, limits)
        if problem:
            problems.append(problem)
        elif parts and not is_junk(parts):
            members.append((info, parts))
    problems += _declared_total(infos, limits) + _clashes(members)
    if problems:
        _refuse(problems)
    return members


def _check_member(info: zipfile.ZipInfo, limits: ArchiveLimits
                  ) -> tuple[tuple[str, ...] | None, Problem | None]:
    parts, reason = safe_parts(info.filename)
    if reason:
        return None, Problem("archive_unsafe_path", f"entry name {reason}", info.filename)
    mode = info.external_attr >> 16
    checks = (
        (stat.S_ISLNK(mode), "archive_symlink", "is a symbolic link; only plain files "
         "are accepted"),
        (stat.S_IFMT(mode) not in SAFE_MODES, "archive_special_file", "is a device, pipe "
         "or socket; only plain files are accepted"),
        (info.flag_bits & 0x1, "archive_encrypted", "is encrypted; upload it without a "
         "password"),
        (info.compress_type not in SAFE_COMPRESSION, "archive_unsupported_compression",
         "uses a compression method other than deflate or store"),
        (info.file_size > limits.max_file_bytes, "archive_too_large",
         f"unpacks to {_size(info.file_size)}, more than {_size(limits.max_file_bytes)}"),
        (_ratio_too_high(info, limits), "archive_ratio", "is compressed more than "
         f"{limits.max_ratio:g}:1, which only a zip bomb does"),
    )
    for failed, code, message in checks:
        if failed:
            return None, Problem(code, message, info.filename)
    return parts, None


def _ratio_too_high(info: zipfile.ZipInfo, limits: ArchiveLimits) -> bool:
    if info.file_size < limits.ratio_min_bytes:
        return False
    return info.file_size > limits.max_ratio * max(info.compress_size, 1)


def _declared_total(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> list[Problem]:
    total = sum(i.file_size for i in infos)
    if total <= limits.max_total_bytes:
        return []
    return [Problem("archive_too_large", f"the archive declares {_size(total)} of files, "
                    f"more than {_size(limits.max_total_bytes)}")]


def _clashes(members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]) -> list[Problem]:
    """Two entries with one path (the second would overwrite), or a file used as a folder."""
    folders = {parts[:i] for _, parts in members for i in range(1, len(parts))}
    folders |= {parts for info, parts in members if info.is_dir()}
    seen, problems = set(), []
    for info, parts in members:
        name = "/".join(parts)
        if not info.is_dir() and (parts in seen or parts in folders):
            problems.append(Problem("archive_duplicate_path", "appears more than once "
                                    "(or as both a file and a folder)", name))
        seen.add(parts)
    return problems


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, parts: tuple[str, ...],
                    scratch: Path, budget: Budget) -> None:
    path = _target(scratch, parts)
    if info.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_member(archive, info) as src:
        copy_capped(src, path, "/".join(parts), budget)


# --- folders ------------------------------------------------------------------------------

def _copy_folder(source: Path, scratch: Path, limits: ArchiveLimits) -> None:
    """Copy a folder tree without following links; refuse anything but files and folders."""
    entries = _walk(source, (), limits)
    budget = Budget(limits)
    for parts, is_dir in entries:
        path = _target(scratch, parts)
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
    # O_NOFOLLOW and fstat close the gap between the lstat above and this open: a file
    # swapped for a link or a pipe in between is still refused.
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionInvalid([Problem("archive_special_file", "is not a plain file",
                                             name)])
        copy_capped(handle, dest, name, budget)
