"""What an evaluation worker does with the database: claim a submission, keep its heartbeat,
log progress, and record the result exactly once.

A task may be delivered twice (``acks_late``) or redelivered after its worker died. The
claim is a conditional UPDATE: only a queued submission, or a running one whose heartbeat
went stale, can be claimed; each claim increments ``attempts``, and only the attempt that
holds the claim may record a result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from evaluator.score import overall_score, shown_performance
from leaderboard.models import (
    Basis,
    Entry,
    OperatingPoint,
    ReferenceVersion,
    Submission,
    Task,
)
from leaderboard.scoring import score_entry, store_scores

if TYPE_CHECKING:  # numpy comes with it: only the worker loads the evaluation code
    from evaluator.evaluate import PointReport, Report

Status = Submission.Status
BASIS = {"counted": Basis.COUNTED, "declared": Basis.DECLARED, "code": Basis.CODE}

logger = logging.getLogger(__name__)


class Busy(Exception):
    """Another live attempt holds the submission; try again after the heartbeat timeout."""


class Stop(Exception):
    """The submission was cancelled, or claimed by a newer attempt: stop quietly."""


@dataclass(frozen=True)
class Claim:
    submission_id: int
    attempt: int


def claim(submission_id: int) -> Claim | None:
    """Claim the submission for this attempt; ``None`` when there is nothing to do (it is
    finished or cancelled), ``Busy`` when another live attempt is running it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ELUE_STALE_AFTER)
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=stale)
    claimed = Submission.objects.filter(claimable, pk=submission_id).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now)
    submission = Submission.objects.filter(pk=submission_id).first()
    if not claimed:
        if submission is not None and submission.status == Status.RUNNING:
            raise Busy(submission_id)
        return None
    note = "" if submission.attempts == 1 else " (the previous attempt's worker was lost)"
    submission.record_event(Status.RUNNING, f"attempt {submission.attempts} started{note}", now)
    return Claim(submission_id, submission.attempts)


def holding(claim: Claim):
    """The submission while this attempt still holds it."""
    return Submission.objects.filter(pk=claim.submission_id, status=Status.RUNNING,
                                     attempts=claim.attempt)


def progress(claim: Claim, message: str) -> None:
    """Log a step; raise ``Stop`` if the submission was cancelled or taken over."""
    submission = holding(claim).first()
    if submission is None:
        raise Stop(claim.submission_id)
    submission.record_event(Status.RUNNING, message)


def stop_check(claim: Claim, every: float = 1.0) -> Callable[[], None]:
    """A check for long steps (a sandboxed model runs for minutes without a progress line):
    raises ``Stop`` once the submission was cancelled or taken over, looking at the database
    at most every ``every`` seconds however often it is called."""
    last = {"at": float("-inf")}

    def check() -> None:
        now = time.monotonic()
        if now - last["at"] < every:
            return
        last["at"] = now
        if not holding(claim).exists():
            raise Stop(claim.submission_id)
    return check


class Heartbeat:
    """While open, a thread marks the attempt alive every ``ELUE_HEARTBEAT_SECONDS``."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.ELUE_HEARTBEAT_SECONDS):
                self._mark_alive()
        finally:
            connection.close()  # this thread's own connection

    def _mark_alive(self) -> None:
        """One beat. A write that fails (SQLite busy while another process writes, a dropped
        connection) is logged and tried again at the next beat: a heartbeat thread that died
        of it would let the reaper take back an evaluation that is still running."""
        try:
            holding(self.claim).update(heartbeat_at=timezone.now())
        except DatabaseError:
            logger.warning("heartbeat of submission %s not written; trying again",
                           self.claim.submission_id, exc_info=True)
            connection.close()  # the next beat opens a fresh connection


def _point(entry: Entry, task: Task, point: PointReport) -> OperatingPoint:
    # Stored at the paper's precision (the evaluator already rounds): nothing read from the
    # database later, page, API or CSV, can tell more about the hidden labels.
    return OperatingPoint(
        entry=entry, task=task, name=point.point or "static", mflops=point.mflops,
        performance=shown_performance(point.performance), mparams=point.mparams,
        mflops_basis=BASIS[point.basis],
        median_mflops=point.median_mflops, p95_mflops=point.p95_mflops,
        exit_histogram=point.exit_histogram, rerun_examples=point.rerun_examples,
        rerun_prediction_agreement=point.rerun_prediction_agreement,
        rerun_exit_agreement=point.rerun_exit_agreement)


def _create_entry(submission: Submission, report: Report) -> Entry:
    entry = Entry.objects.create(
        owner=submission.owner, name=submission.name, description=submission.description,
        affiliation=submission.affiliation, paper_url=submission.paper_url,
        code_url=submission.code_url, kind=submission.kind, visibility=submission.visibility,
        is_dynamic=any(p.point for t in report.tasks for p in t.points))
    tasks = {t.slug: t for t in Task.objects.all()}
    OperatingPoint.objects.bulk_create(
        _point(entry, tasks[t.task], p) for t in report.tasks for p in t.points)
    return entry


def _scores(entry: Entry, report: Report, scored_against: int | None) -> dict[int, float]:
    """Store the task scores the evaluation computed, against the reference version it used
    (``scored_against``). Should a newer version have arrived meanwhile, the entry is scored
    against that one instead: the background re-score may already have passed it by."""
    version = ReferenceVersion.objects.current()
    if version is None:
        return {}  # the entry waits unscored; loading a reference re-scores every entry
    if version.pk != scored_against:
        return score_entry(entry, version)
    task_ids = dict(Task.objects.values_list("slug", "pk"))
    scores = {task_ids[t.task]: t.score for t in report.tasks if t.score is not None}
    store_scores(entry, version, scores)
    return scores


@transaction.atomic
def record_report(claim: Claim, report: Report, scored_against: int | None,
                  rerun_seed: int | None = None) -> bool:
    """Create the entry, its points and scores, and mark the submission scored; a no-op
    returning ``False`` if this attempt no longer holds the submission. ``scored_against``
    is the reference version whose curves the evaluation used; ``rerun_seed`` the secret
    seed of its re-run sample (kept for the ELUE team, never shown)."""
    submission = holding(claim).select_for_update().first()
    if submission is None:
        return False
    entry = _create_entry(submission, report)
    scores = _scores(entry, report, scored_against)
    holding(claim).update(status=Status.SCORED, entry=entry, finished_at=timezone.now(),
                          rerun_seed=rerun_seed)
    overall = overall_score(scores)
    shown = "no reference" if overall is None else f"ELUE score {overall:+.2f}"
    submission.record_event(Status.SCORED, f"scored on {len(scores)} task(s): {shown}")
    return True


def fail(claim: Claim, reason: str, platform_fault: bool) -> bool:
    """Mark the submission failed with ``reason`` if this attempt still holds it."""
    return fail_submission(holding(claim), reason, platform_fault)


def fail_submission(queryset, reason: str, platform_fault: bool) -> bool:
    submission = queryset.first()
    changed = queryset.update(status=Status.FAILED, failure_reason=reason,
                              platform_fault=platform_fault, finished_at=timezone.now())
    if changed:
        submission.record_event(Status.FAILED, reason)
    return bool(changed)
