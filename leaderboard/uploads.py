"""Uploaded files and where they are kept: plain, safe, distinct names, written to disk in
chunks (shared by the site's submit form and the API); the archive limits from the settings;
storing a bundle in the upload store and reading it back (the worker, a resubmission)."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile

from elue.storage import uploads
from evaluator.bundle.archive_limits import ArchiveLimits
from evaluator.errors import Problem

MIB = 1024 * 1024
# A file name as a submission uses them: no folders, no hidden files, nothing a shell or a
# file system could read as something else.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def base_name(upload: UploadedFile) -> str:
    """The file's name without any folder a client may have sent (either separator)."""
    return (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]


def name_problems(files: list[UploadedFile]) -> list[Problem]:
    """A problem per file whose name is not a plain, safe file name, or repeats another;
    ``field`` is its place in the ``files`` list."""
    problems, seen = [], set()
    for index, upload in enumerate(files):
        name, field = base_name(upload), f"files[{index}]"
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            problems.append(Problem("bad_file_name", f"file name {upload.name!r} is not "
                                    "allowed: use letters, digits, '.', '_' and '-' only, "
                                    "starting with a letter or digit (send a bundle with "
                                    "folders as a zip)", file=upload.name, field=field))
        elif name in seen:
            problems.append(Problem("duplicate_file", f"{name} is sent twice", file=name,
                                    field=field))
        seen.add(name)
    return problems


def write_upload(upload: UploadedFile, target: Path) -> None:
    with open(target, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.ELUE_UPLOAD_MAX_MEMBERS,
        max_total_bytes=settings.ELUE_UPLOAD_MAX_MB * MIB,
        max_file_bytes=settings.ELUE_UPLOAD_MAX_MB * MIB,
        max_ratio=float(settings.ELUE_UPLOAD_MAX_RATIO),
    )


def store_upload(upload: Path) -> str:
    """Store the upload (a zip, or a folder zipped here) in the upload store
    (``elue.storage.uploads``: a local folder or an object store); returns its name there."""
    name = f"submissions/{uuid.uuid4().hex}.zip"
    with tempfile.TemporaryDirectory(prefix="elue-store-") as scratch:
        if upload.is_dir():
            upload = Path(shutil.make_archive(str(Path(scratch) / "bundle"), "zip",
                                              root_dir=upload))
        with open(upload, "rb") as handle:
            return uploads().save(name, File(handle, name=name))


def discard_upload(name: str) -> None:
    """Remove a stored upload (deleted, or its submission was never created)."""
    uploads().delete(name)


def fetch_upload(name: str, scratch: Path) -> Path:
    """A local path to the stored upload ``name``: the file itself on a local store, else a
    copy downloaded into ``scratch`` (the caller's, removed with it). ``FileNotFoundError``
    when it is no longer stored."""
    return uploads().materialize(name, scratch)
