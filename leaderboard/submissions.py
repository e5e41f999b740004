"""Receiving submissions: cheap checks at once, storage, quota, enqueueing.

Heavy work (token lengths, FLOPs, metrics, scores) runs in a worker
(``leaderboard.tasks.evaluate_submission``); ``leaderboard.pipeline`` holds what the worker
does with the database, ``leaderboard.actions`` what an owner does afterwards.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evaluator.bundle.load import Bundle, load_bundle
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.models import Entry, Submission, TestData
from leaderboard.tasks import enqueue_evaluation
from leaderboard.uploads import archive_limits, store_upload, upload_root

logger = logging.getLogger(__name__)
Status = Submission.Status


class QuotaExceeded(Exception):
    """The owner has used the daily submission limit; ``resets_at`` is when one frees up."""

    def __init__(self, limit: int, resets_at: datetime):
        self.limit, self.resets_at = limit, resets_at
        super().__init__(f"daily limit of {limit} submissions reached; the next one is "
                         f"possible at {resets_at:%Y-%m-%d %H:%M} UTC")


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
                bundle=stored, status=Status.QUEUED, enqueued_at=timezone.now(),
                runs_model=bundle.model is not None and bundle.model.runnable)
            submission.record_event(Status.RECEIVED, "upload received", received)
            submission.record_event(Status.VALIDATING, "checking files", validating)
            submission.record_event(Status.QUEUED, _summary(bundle))
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
