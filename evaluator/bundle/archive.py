"""Reading an uploaded submission (a zip file or a folder) into a scratch directory.

Uploads are hostile until proven otherwise. The end-of-central-directory record is read
first: too many entries are refused before the archive is opened. Then every member is
checked before anything is written: no absolute paths, no ``..``, no symlinks, devices or
pipes, no encryption, no exotic compression, and the declared sizes stay under
:class:`ArchiveLimits`. While
extracting, the bytes really written are counted too, because declared sizes can lie.
Nothing is ever written outside the scratch directory, and on refusal the scratch
directory is emptied again.

This module unpacks zip files; the limits and the counting of bytes are in
``evaluator.bundle.archive_limits``, the checks of each path in
``evaluator.bundle.member_paths``, and the copy of a folder in ``evaluator.bundle.folder_copy``.

Example::

    root = unpack(Path("upload.zip"), Path("/tmp/scratch-42"))
    # root is the scratch dir, or the single folder that wrapped everything in the zip
"""

from __future__ import annotations

import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO

from evaluator.bundle.archive_limits import (
    DEFAULT_LIMITS,
    ArchiveLimits,
    Budget,
    copy_capped,
    readable_size,
)
from evaluator.bundle.folder_copy import copy_folder
from evaluator.bundle.member_paths import is_junk, safe_parts, target_path
from evaluator.errors import Problem, SubmissionInvalid

MAX_REPORTED = 20
# A central directory entry is 46 bytes plus its name (at most member_paths.MAX_PATH_CHARS
# characters, up to 4 bytes each), extra fields and comment: real tools write a few dozen
# bytes of extras.
DIRECTORY_BYTES_PER_MEMBER = 8 * 1024

# bzip2 and LZMA members are decompressed by zipfile without an output bound, so one
# small read could expand to gigabytes in memory. No common zip tool needs them.
SAFE_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
SAFE_MODES = frozenset({0, stat.S_IFREG, stat.S_IFDIR})


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
            copy_folder(source, scratch, limits)
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
            f"{readable_size(directory_bytes)}, more than {limits.max_members:,} entries need "
            f"({readable_size(most)} at most)")])


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
         f"unpacks to {readable_size(info.file_size)}, more than "
         f"{readable_size(limits.max_file_bytes)}"),
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
    return [Problem("archive_too_large", f"the archive declares {readable_size(total)} of files, "
                    f"more than {readable_size(limits.max_total_bytes)}")]


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
    path = target_path(scratch, parts)
    if info.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_member(archive, info) as src:
        copy_capped(src, path, "/".join(parts), budget)

