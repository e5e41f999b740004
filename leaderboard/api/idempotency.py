"""``Idempotency-Key``: a POST retried with the same key by the same user gets the first
response again and creates nothing; the key with a different request is a 409.

Records are rows (``IdempotencyRecord``), so every web process sees them. A record is
reserved before the work starts, so two concurrent requests with one key cannot both create.
Only successful responses are kept (for ``KEEP_FOR``): after an error, the same key may be
used again.

The slow part of a request (an upload's checks) runs outside any transaction; the rows it
creates and the recording of its response then commit together in one short transaction: if
the database goes away between them, the work is rolled back too, so a retry can never
create a second copy. A reservation whose request died with the database (it could not be
deleted) blocks its key for ``ELUE_IDEMPOTENCY_ABANDONED_AFTER`` seconds, longer than any
request may run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from leaderboard.api.errors import error
from leaderboard.models import IdempotencyRecord

logger = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# How long a response is remembered: a day, like the submission quota's window.
KEEP_FOR = timedelta(days=1)


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"{upload.name}:{upload.size}:{digest.hexdigest()}"


def _value(value) -> str:
    return _file_digest(value) if isinstance(value, UploadedFile) else str(value)


def fingerprint(request) -> str:
    """SHA-256 of the method, path and parsed body: the same for a retry even though a
    multipart body's boundary changes, different as soon as a field or a file does."""
    data = request.data
    if hasattr(data, "lists"):
        body = sorted((key, [_value(v) for v in values]) for key, values in data.lists())
    else:
        body = data
    text = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def abandoned_after() -> timedelta:
    """A reservation this old belongs to a request that died: its key is free again."""
    return timedelta(seconds=settings.ELUE_IDEMPOTENCY_ABANDONED_AFTER)


def _key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError({HEADER: [
            f"must be 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID"]})
    return key


def _conflict(code: str, message: str) -> Response:
    return Response({"errors": [error(code, message, field=HEADER)]},
                    status=status.HTTP_409_CONFLICT)


def _reserve(user, key: str, digest: str, tries: int = 3) -> IdempotencyRecord | Response:
    """A new reservation, or the response to give instead of doing the work."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(user=user, created_at__lt=now - KEEP_FOR).delete()
    IdempotencyRecord.objects.filter(user=user, key=key, status=0,
                                     created_at__lt=now - abandoned_after()).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, fingerprint=digest)
    except IntegrityError:
        pass
    earlier = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if earlier is None and tries > 1:  # deleted meanwhile (the first one failed): again
        return _reserve(user, key, digest, tries - 1)
    if earlier is None:
        return _conflict("idempotency_in_progress", f"a request with {HEADER} {key!r} is "
                         "being processed concurrently; retry in a few seconds")
    if earlier.fingerprint != digest:
        return _conflict("idempotency_key_reused", f"{HEADER} {key!r} was already used with a "
                         "different request; use a new key for a new request")
    if earlier.status == 0:
        return _conflict("idempotency_in_progress", f"a request with {HEADER} {key!r} is still "
                         "being processed; retry in a few seconds")
    return Response(earlier.body, status=earlier.status, headers={"Idempotent-Replayed": "true"})


@dataclass(frozen=True)
class Work:
    """What is left of a request once its slow part (checks, storing files) is done:
    ``commit`` writes the rows and returns the response, inside a short transaction;
    ``discard`` undoes the slow part's side effects should that transaction fail."""

    commit: Callable[[], Response]
    discard: Callable[[], None] = lambda: None


def idempotent(request, prepare: Callable[[], Work]) -> Response:
    """Run the request once per (user, ``Idempotency-Key``); without the header, just run it.

    ``prepare`` runs outside any transaction (an upload's checks take seconds; on SQLite a
    transaction would hold the write lock for every other request meanwhile); the reservation
    keeps a concurrent retry out. Then the work's rows and the record of its response are
    written in one short transaction.
    """
    key = _key(request)
    if key is None:
        return _commit(prepare(), None)
    reserved = _reserve(request.user, key, fingerprint(request))
    if isinstance(reserved, Response):
        return reserved
    try:
        response = _commit(prepare(), reserved)
    except BaseException:
        _release(reserved)
        raise
    if not status.is_success(response.status_code):
        _release(reserved)
    return response


def _commit(work: Work, reserved: IdempotencyRecord | None) -> Response:
    """The work and the record of its response, together or not at all: if the record cannot
    be written (the database went away), the work is rolled back too, so that a retry can
    never create a second copy."""
    try:
        with transaction.atomic():
            response = work.commit()
            if reserved is not None and status.is_success(response.status_code):
                _record(reserved, response)
    except BaseException:
        work.discard()
        raise
    return response


def _record(reserved: IdempotencyRecord, response: Response) -> None:
    reserved.status, reserved.body = response.status_code, response.data
    # A view that created a submission says so (``response.submission_id``).
    reserved.submission_id = getattr(response, "submission_id", None)
    reserved.save(update_fields=["status", "body", "submission"])


RELEASE_PAUSES = (0.0, 0.5, 2.0)  # seconds: a database restart takes about one


def _release(reserved: IdempotencyRecord) -> None:
    """Free the key after a failure, trying again for a few seconds when the database went
    away (its restart is quick); failing that, the reservation expires (``abandoned_after``)."""
    for pause in RELEASE_PAUSES:
        time.sleep(pause)
        try:
            reserved.delete()
            return
        except DatabaseError:
            if not connection.in_atomic_block:
                connection.close()  # a cut connection: the next try opens a new one
    logger.warning("could not release %s %r; it expires in %s", HEADER, reserved.key,
                   abandoned_after())
