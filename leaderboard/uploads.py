"""Uploaded files and where they are kept: plain, safe, distinct names, written to disk in
chunks (shared by the site's submit form and the API); the archive limits from the settings;
the upload directory and storing a bundle in it (the worker reads it back from there)."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from evaluator.bundle.archive import ArchiveLimits
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


def upload_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def store_upload(upload: Path) -> str:
    """Copy the upload (a zip, or a folder zipped here) into the upload directory; returns
    its path relative to it."""
    relative = Path("submissions") / f"{uuid.uuid4().hex}.zip"
    target = upload_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if upload.is_dir():
        shutil.make_archive(str(target.with_suffix("")), "zip", root_dir=upload)
    else:
        shutil.copyfile(upload, target)
    return relative.as_posix()
