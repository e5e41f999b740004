"""Turning a multipart upload into a bundle on disk: one ``bundle`` zip, or the bundle's
``files`` written into a private temporary folder under names ``leaderboard.uploads``
checked."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from rest_framework import exceptions

from evaluator.errors import SubmissionInvalid
from leaderboard.request_limits import body_too_large
from leaderboard.uploads import base_name, name_problems, write_upload


class UploadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "upload_too_large"


def check_size(request) -> None:
    """Refuse, before reading it, a request larger than ``ELUE_UPLOAD_MAX_MB`` (the
    middleware ``RefuseOversizedBodies`` already does; this keeps the view safe alone)."""
    problem = body_too_large(request)
    if problem is not None:
        raise UploadTooLarge(problem.message)


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
