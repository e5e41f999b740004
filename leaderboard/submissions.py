"""Receiving submissions: cheap checks at once, storage, quota, enqueueing, cancelling.

Heavy work (token lengths, FLOPs, metrics, scores) runs in a worker (``evaluator.tasks``);
``leaderboard.pipeline`` holds what the worker does with the database.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evaluator.archive import ArchiveLimits
from evaluator.bundle import Bundle, load_bundle
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.models import Entry, Submission, SubmissionEvent, TestData

logger = logging.getLogger(__name__)
Status = Submission.Status


class QuotaExceeded(Exception):
    """The owner has used the daily submission limit; ``resets_at`` is when one frees up."""

    def __init__(self, limit: int, resets_at: datetime):
        self.limit, self.resets_at = limit, resets_at
        super().__init__(f"daily limit of {limit} submissions reached; the next one is "
                         f"possible at {resets_at:%Y-%m-%d %H:%M} UTC")


def archive_limits() -> ArchiveLimits:
    mib = 1024 * 1024
    return ArchiveLimits(
        max_members=settings.ELUE_UPLOAD_MAX_MEMBERS,
        max_total_bytes=settings.ELUE_UPLOAD_MAX_MB * mib,
        max_file_bytes=settings.ELUE_UPLOAD_MAX_MB * mib,
        max_ratio=float(settings.ELUE_UPLOAD_MAX_RATIO),
    )


def check_quota(owner, now: datetime | None = None) -> None:
    """Raise ``QuotaExceeded`` when ``owner`` has no submission left in the last 24 hours."""
    now = now or timezone.now()
    window = now - timedelta(days=1)
    counted = Submission.objects.counted_for_quota(owner, window).order_by("created_at")
    limit = settings.ELUE_DAILY_SUBMISSIONS
    created = list(counted.values_list("created_at", flat=True)[:limit])
    if len(created) >= limit:
        # With a limit of 0 (submissions closed) nothing frees up a slot within a day.
        oldest = created[0] if created else now
        raise QuotaExceeded(limit, oldest + timedelta(days=1))


def missing_test_data(bundle: Bundle) -> list[Problem]:
    """One problem per task whose test data this server has not imported."""
    loaded = set(TestData.objects.values_list("task__slug", flat=True))
    first_file = {}
    for point in bundle.points:
        first_file.setdefault(point.task.slug, point.predictions_file)
    return [
        Problem("task_not_available", f"{task.name} test data is not loaded on this server, "
                "so its predictions cannot be scored",
                first_file.get(task.slug, "model/elue.json"))
        for task in bundle.tasks if task.slug not in loaded
    ]


def validate_upload(upload: Path) -> Bundle:
    """The cheap checks: archive safety, file names and formats, row counts, a cost for every
    point, and test data for every task. Raises ``SubmissionInvalid`` with every problem."""
    from evaluator.evaluate import check_cost_source

    with tempfile.TemporaryDirectory(prefix="elue-validate-") as scratch:
        bundle = load_bundle(upload, Path(scratch) / "bundle", archive_limits())
        check_cost_source(bundle, settings.ELUE_ALLOW_UNSANDBOXED_CODE)
        problems = missing_test_data(bundle)
        if problems:
            raise SubmissionInvalid(problems)
        return bundle


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


def log_event(submission: Submission, status: str, message: str = "",
              at: datetime | None = None) -> None:
    SubmissionEvent.objects.create(submission=submission, status=status, message=message,
                                   at=at or timezone.now())


def enqueue_evaluation(submission_id: int) -> bool:
    """Send the evaluation task; with the broker down, log and leave the submission queued
    for the reaper. Returns whether the message was sent."""
    from evaluator.tasks import evaluate_submission

    try:
        evaluate_submission.delay(submission_id)
    except Exception:  # kombu raises several kinds for an unreachable broker
        logger.warning("broker unreachable; submission %s stays queued for the reaper",
                       submission_id, exc_info=True)
        return False
    return True


def submit_bundle(owner, upload: Path, *, name: str, description: str = "",
                  affiliation: str = "", paper_url: str = "", code_url: str = "",
                  visibility: str = Entry.Visibility.PUBLIC) -> Submission:
    """Check an upload and queue it for evaluation.

    Raises ``QuotaExceeded`` or ``SubmissionInvalid`` (every problem), storing nothing.
    """
    received = timezone.now()
    check_quota(owner, received)
    validating = timezone.now()
    bundle = validate_upload(Path(upload))
    kind = Entry.Kind.VERIFIED if bundle.model is not None else Entry.Kind.DECLARED
    if bundle.runs_model:
        kind = Entry.Kind.MODEL  # kind 4: the platform runs it to produce the predictions
    stored = store_upload(Path(upload))
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                owner=owner, name=name, description=description, affiliation=affiliation,
                paper_url=paper_url, code_url=code_url, kind=kind, visibility=visibility,
                bundle=stored, status=Status.QUEUED, enqueued_at=timezone.now())
            log_event(submission, Status.RECEIVED, "upload received", received)
            log_event(submission, Status.VALIDATING, "checking files", validating)
            log_event(submission, Status.QUEUED, _summary(bundle))
            transaction.on_commit(lambda: enqueue_evaluation(submission.pk))
    except BaseException:
        (upload_root() / stored).unlink(missing_ok=True)
        raise
    return submission


def _summary(bundle: Bundle) -> str:
    tasks = ", ".join(t.name for t in bundle.tasks)
    if bundle.runs_model:
        thresholds = len(bundle.model.manifest.thresholds) or 1
        return (f"files valid: the platform will run the model on {tasks} "
                f"({thresholds} operating point(s) per task)")
    cost = "counted from the model definition" if bundle.model else "declared"
    return f"files valid: {len(bundle.points)} operating point(s) on {tasks}; cost {cost}"


def cancel(submission: Submission) -> bool:
    """Cancel a submission that has not finished; a running worker stops at its next step."""
    changed = Submission.objects.filter(pk=submission.pk).exclude(
        status__in=Submission.FINAL).update(status=Status.CANCELLED, finished_at=timezone.now())
    if changed:
        log_event(submission, Status.CANCELLED, "cancelled by the owner")
    return bool(changed)


class ActionRefused(Exception):
    """An owner action that does not apply to the submission in its current state."""


def set_visibility(submission: Submission, visibility: str) -> None:
    """Make the submission, and its entry once scored, public or private."""
    from leaderboard.entries import set_entry_visibility

    if visibility not in Entry.Visibility.values:
        raise ActionRefused(f"visibility must be one of {', '.join(Entry.Visibility.values)}")
    Submission.objects.filter(pk=submission.pk).update(visibility=visibility)
    submission.visibility = visibility
    if submission.entry_id is not None:
        set_entry_visibility(submission.entry, visibility)


def delete_submission(submission: Submission) -> None:
    """Delete a submission: cancel it if it has not finished, remove its entry from the
    leaderboard and its stored files. The row stays, hidden, so the quota still counts it."""
    cancel(submission)
    with transaction.atomic():
        if submission.entry_id is not None:
            Entry.objects.filter(pk=submission.entry_id).delete()
        Submission.objects.filter(pk=submission.pk).update(deleted_at=timezone.now(),
                                                           entry=None)
    if submission.bundle:
        (upload_root() / submission.bundle).unlink(missing_ok=True)


def resubmit(submission: Submission) -> Submission:
    """Submit the same files and metadata again, as a new submission (quota applies).

    Only a finished submission can be resubmitted: a running one would count twice.
    """
    if not submission.is_final:
        raise ActionRefused(f"submission {submission.pk} is still {submission.status}; "
                            "cancel it or wait for it to finish before resubmitting")
    stored = upload_root() / submission.bundle
    if not stored.is_file():
        raise ActionRefused(f"the files of submission {submission.pk} are no longer stored")
    return submit_bundle(
        submission.owner, stored, name=submission.name, description=submission.description,
        affiliation=submission.affiliation, paper_url=submission.paper_url,
        code_url=submission.code_url, visibility=submission.visibility)
