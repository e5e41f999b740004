"""Receiving submissions: cheap checks at once, storage, quota, enqueueing.

Only an account with a confirmed e-mail address submits (``leaderboard.accounts``). Two steps,
so that the slow one never holds a database transaction: ``prepare_submission`` (an early
quota check, the file checks, storing the upload) and ``create_submission`` (one short
transaction holding the owner's lock, ``leaderboard.locks.owner_lock``: the quota of
submissions and scored points, ``leaderboard.probing``, is counted again and decides, points
near-identical to the account's earlier ones are refused, and the rows are inserted). Uploads
sent at the same moment are counted one at a time, so none gets past a limit another one just
reached. ``submit_bundle`` does both.

Heavy work (token lengths, FLOPs, metrics, scores) runs in a worker
(``leaderboard.tasks.evaluate_submission``); ``leaderboard.pipeline`` holds what the worker
does with the database, ``leaderboard.actions`` what an owner does afterwards.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evaluator.bundle.load import Bundle, load_bundle
from evaluator.bundle.point_rules import PredictionRecord, record_of
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.accounts import require_confirmed
from leaderboard.locks import owner_lock
from leaderboard.models import Entry, Submission, TestData
from leaderboard.probing import (
    budget_problem,
    earlier_problems,
    point_rules,
    store_records,
)
from leaderboard.tasks import enqueue_evaluation
from leaderboard.uploads import archive_limits, discard_upload, store_upload

logger = logging.getLogger(__name__)
Status = Submission.Status


class QuotaExceeded(Exception):
    """A submission over one of the owner's limits: ``name`` says which ("submissions" or
    "published entries" a day, "daily_points", "monthly_points"), ``resets_at`` when enough
    frees up (``None`` when the submission alone is over the limit)."""

    def __init__(self, limit: int, resets_at: datetime | None, name: str = "submissions",
                 message: str | None = None):
        self.limit, self.resets_at, self.name = limit, resets_at, name
        super().__init__(message or f"daily limit of {limit} {name} reached; the next "
                         f"one is possible at {resets_at:%Y-%m-%d %H:%M} UTC")


def check_quota(owner, now: datetime | None = None,
                points: Mapping[str, int] | None = None) -> None:
    """Raise ``QuotaExceeded`` when ``owner`` has no submission left in the last 24 hours,
    or when ``points`` (operating points per task slug of the new submission) do not fit the
    point budgets (``leaderboard.probing.budget_problem``).

    Decides alone whether a submission may be stored; call it inside ``owner_lock`` in the
    transaction that inserts the submission, or two uploads at once could both pass.
    """
    now = now or timezone.now()
    window = now - timedelta(days=1)
    counted = Submission.objects.counted_for_quota(owner, window).order_by("created_at")
    limit = settings.ELUE_DAILY_SUBMISSIONS
    created = list(counted.values_list("created_at", flat=True)[:limit])
    if len(created) >= limit:
        # With a limit of 0 (submissions closed) nothing frees up a slot within a day.
        oldest = created[0] if created else now
        raise QuotaExceeded(limit, oldest + timedelta(days=1))
    over = budget_problem(owner, points, now) if points else None
    if over is not None:
        limits = {"daily_points": settings.ELUE_DAILY_POINTS,
                  "monthly_points": settings.ELUE_MONTHLY_POINTS_PER_TASK}
        raise QuotaExceeded(limits[over.name], over.resets_at, over.name, over.message)


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
        bundle = load_bundle(upload, Path(scratch) / "bundle", archive_limits(),
                             rules=point_rules())
        check_cost_source(bundle, settings.ELUE_ALLOW_UNSANDBOXED_CODE)
        problems = missing_test_data(bundle)
        if problems:
            raise SubmissionInvalid(problems)
        return bundle


@dataclass
class PreparedSubmission:
    """An upload that passed the cheap checks and is stored, waiting to become a
    ``Submission`` in one short transaction (``create_submission``)."""

    owner: object
    fields: dict
    kind: str
    stored: str  # its name in the upload store
    summary: str
    received: datetime
    validating: datetime
    points_by_task: dict[str, int]
    records: list[PredictionRecord]  # the files' points, to compare with the owner's earlier

    def discard(self) -> None:
        """Remove the stored upload: its submission was not created."""
        discard_upload(self.stored)


def prepare_submission(owner, upload: Path, *, name: str, description: str = "",
                       affiliation: str = "", paper_url: str = "", code_url: str = "",
                       visibility: str = Entry.Visibility.PUBLIC) -> PreparedSubmission:
    """Check an upload and store it, outside any database transaction: the checks take up to
    seconds, and on SQLite a transaction would hold the write lock for everyone meanwhile.

    Raises ``EmailNotConfirmed``, ``QuotaExceeded`` or ``SubmissionInvalid`` (every
    problem), storing nothing. The cheap checks run before the owner's lock is taken, so a
    slow upload holds up no one.
    """
    require_confirmed(owner)
    received = timezone.now()
    check_quota(owner, received)  # early refusal, before the work of checking the files
    validating = timezone.now()
    bundle = validate_upload(Path(upload))
    kind = Entry.Kind.VERIFIED if bundle.model is not None else Entry.Kind.DECLARED
    if bundle.runs_model:
        kind = Entry.Kind.MODEL  # kind 4: the platform runs it to produce the predictions
    fields = {"name": name, "description": description, "affiliation": affiliation,
              "paper_url": paper_url, "code_url": code_url, "visibility": visibility}
    # A model the platform runs has no predictions yet: the worker checks and records them.
    records = [record_of(p) for p in bundle.points]
    return PreparedSubmission(owner, fields, kind, store_upload(Path(upload)), _summary(bundle),
                              received, validating, bundle.points_per_task, records)


def create_submission(prepared: PreparedSubmission) -> Submission:
    """The short write, under the owner's lock: the quota decides, the points are compared
    with the owner's earlier ones, then the submission, its point records, its log, and its
    message to the workers once the transaction commits. Raises ``QuotaExceeded`` or
    ``SubmissionInvalid``; the caller discards the upload if this raises."""
    with owner_lock(prepared.owner):
        now = timezone.now()
        check_quota(prepared.owner, now, prepared.points_by_task)  # under the lock: decides
        problems = earlier_problems(prepared.owner, prepared.records, now)
        if problems:
            raise SubmissionInvalid(problems)
        submission = Submission.objects.create(
            owner=prepared.owner, kind=prepared.kind, bundle=prepared.stored,
            status=Status.QUEUED, enqueued_at=timezone.now(),
            points_by_task=prepared.points_by_task, **prepared.fields)
        store_records(submission, prepared.records, submission.created_at)
        submission.record_event(Status.RECEIVED, "upload received", prepared.received)
        submission.record_event(Status.VALIDATING, "checking files", prepared.validating)
        submission.record_event(Status.QUEUED, prepared.summary)
        transaction.on_commit(lambda: enqueue_evaluation(submission.pk))
    return submission


def submit_bundle(owner, upload: Path, **metadata) -> Submission:
    """Check an upload and queue it for evaluation (``prepare_submission`` takes the
    metadata). Raises ``QuotaExceeded`` or ``SubmissionInvalid``, storing nothing."""
    prepared = prepare_submission(owner, upload, **metadata)
    try:
        return create_submission(prepared)
    except BaseException:
        prepared.discard()
        raise


def _summary(bundle: Bundle) -> str:
    tasks = ", ".join(t.name for t in bundle.tasks)
    if bundle.runs_model:
        thresholds = len(bundle.model.manifest.thresholds) or 1
        return (f"files valid: the platform will run the model on {tasks} "
                f"({thresholds} operating point(s) per task)")
    cost = "counted from the model definition" if bundle.model else "declared"
    return f"files valid: {len(bundle.points)} operating point(s) on {tasks}; cost {cost}"
