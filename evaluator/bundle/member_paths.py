"""The path of each file in an upload: split safely, never outside the scratch directory, and
operating-system litter told apart.

    >>> safe_parts("out/sst-2.tsv")
    (('out', 'sst-2.tsv'), None)
    >>> safe_parts("../etc/passwd")
    (None, 'contains ".." (a path outside the submission)')
"""

from __future__ import annotations

from pathlib import Path

from evaluator.errors import Problem, SubmissionInvalid

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255  # one path component; longer names cannot be created on Linux
MAX_DEPTH = 16

# Files that archivers and desktops add on their own; never part of a submission.
JUNK_DIRS = frozenset({"__MACOSX"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def is_junk(parts: tuple[str, ...]) -> bool:
    """Whether a relative path is operating-system litter (``__MACOSX/``, ``.DS_Store``)."""
    name = parts[-1]
    return (bool(JUNK_DIRS.intersection(parts)) or name in JUNK_FILES
            or name.startswith("._"))


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


def target_path(scratch: Path, parts: tuple[str, ...]) -> Path:
    """The path for ``parts`` under ``scratch``, re-checked after resolution (defence in depth)."""
    path = scratch.joinpath(*parts)
    if not path.resolve().is_relative_to(scratch.resolve()):
        raise SubmissionInvalid([Problem("archive_unsafe_path", "resolves outside the "
                                         "submission", "/".join(parts))])
    return path
