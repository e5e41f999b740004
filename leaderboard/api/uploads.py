"""Turning a multipart upload into a bundle on disk: one ``bundle`` zip, or the bundle's
``files`` written into a private temporary folder under names checked here."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import exceptions

from evaluator.errors import Problem, SubmissionInvalid

MIB = 1024 * 1024
# Room for the form fields and multipart framing on top of the files themselves.
FORM_OVERHEAD = MIB
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class UploadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "upload_too_large"


def check_size(request) -> None:
    """Refuse, before reading it, a request larger than ``ELUE_UPLOAD_MAX_MB``."""
    limit = settings.ELUE_UPLOAD_MAX_MB * MIB
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + FORM_OVERHEAD:
        raise UploadTooLarge(f"the upload is {length / MIB:,.1f} MiB; this server accepts at "
                             f"most {settings.ELUE_UPLOAD_MAX_MB} MiB")


def _save(upload: UploadedFile, target: Path) -> None:
    with open(target, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def name_problems(files: list[UploadedFile]) -> list[Problem]:
    """A problem per file whose name is not a plain, safe file name, or repeats another."""
    problems, seen = [], set()
    for index, upload in enumerate(files):
        name = upload.name or ""
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            problems.append(Problem("bad_file_name", f"file name {name!r} is not allowed: use "
                                  "letters, digits, '.', '_' and '-' only, starting with a "
                                  "letter or digit (send a bundle with folders as a zip)",
                                  file=name, field=f"files[{index}]"))
        elif name in seen:
            problems.append(Problem("duplicate_file", f"{name} is sent twice", file=name,
                                  field=f"files[{index}]"))
        seen.add(name)
    return problems


@contextmanager
def bundle_on_disk(bundle: UploadedFile | None, files: list[UploadedFile] | None
                   ) -> Iterator[Path]:
    """The upload as a path ``submit_bundle`` takes; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="elue-api-") as scratch:
        if bundle is not None:
            path = Path(scratch) / "bundle.zip"
            _save(bundle, path)
            yield path
            return
        problems = name_problems(files or [])
        if problems:
            raise SubmissionInvalid(problems)
        folder = Path(scratch) / "bundle"
        folder.mkdir()
        for upload in files or []:
            _save(upload, folder / upload.name)
        yield folder
