"""Turning a multipart upload into a bundle on disk: one ``bundle`` zip, or the bundle's
``files`` written into a private temporary folder under names ``leaderboard.uploads``
checked."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import exceptions

from evaluator.errors import SubmissionInvalid
from leaderboard.uploads import MIB, base_name, name_problems, write_upload

# Room for the form fields and multipart framing on top of the files themselves.
FORM_OVERHEAD = MIB


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



@contextmanager
def bundle_on_disk(bundle: UploadedFile | None, files: list[UploadedFile] | None
                   ) -> Iterator[Path]:
    """The upload as a path ``prepare_submission`` takes; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="elue-api-") as scratch:
        if bundle is not None:
            path = Path(scratch) / "bundle.zip"
            write_upload(bundle, path)
            yield path
            return
        problems = name_problems(files or [])
        if problems:
            raise SubmissionInvalid(problems)
        folder = Path(scratch) / "bundle"
        folder.mkdir()
        for upload in files or []:
            write_upload(upload, folder / base_name(upload))
        yield folder
