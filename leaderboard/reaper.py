"""The periodic reaper: nothing submitted is left behind.

- queued longer than ``ELUE_REQUEUE_AFTER`` (a lost message, or a broker that was down at
  submit time): enqueued again;
- running with a heartbeat older than ``ELUE_STALE_AFTER`` (its worker died): queued again,
  or failed once ``ELUE_MAX_ATTEMPTS`` attempts were lost;
- running past the hard time limit: failed with a reason;
- working directories of attempts that no longer run (a killed worker's): removed.
Failures here are the platform's fault and do not count against the owner's quota.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard.models import Submission
from leaderboard.pipeline import fail_submission
from leaderboard.workdirs import sweep

Status = Submission.Status
# Sends a submission's evaluation to the broker (``leaderboard.tasks.enqueue_evaluation``);
# passed in, because the tasks module runs the reaper.
Enqueue = Callable[[int], object]


@dataclass
class ReapResult:
    requeued: int = 0
    restarted: int = 0
    failed: int = 0
    swept: int = 0  # working directories of attempts that no longer run


def _seconds_ago(now: datetime, seconds: int) -> datetime:
    return now - timedelta(seconds=seconds)


def requeue_waiting(now: datetime, enqueue: Enqueue) -> int:
    """Enqueue again every submission queued for too long."""
    waiting = Submission.objects.filter(status=Status.QUEUED).filter(
        Q(enqueued_at__lt=_seconds_ago(now, settings.ELUE_REQUEUE_AFTER)) |
        Q(enqueued_at=None))
    count = 0
    for submission in waiting:
        # Conditional, so two reapers racing enqueue it once.
        if Submission.objects.filter(pk=submission.pk, status=Status.QUEUED,
                                     enqueued_at=submission.enqueued_at).update(enqueued_at=now):
            transaction.on_commit(lambda pk=submission.pk: enqueue(pk))
            count += 1
    return count


def fail_overdue(now: datetime) -> int:
    """Fail submissions running past the hard time limit."""
    limit = settings.CELERY_TASK_TIME_LIMIT
    overdue = Submission.objects.filter(status=Status.RUNNING,
                                        started_at__lt=_seconds_ago(now, limit))
    reason = (f"evaluation ran past the hard limit of {limit} s; this does not count "
              "against your daily quota")
    return sum(fail_submission(overdue.filter(pk=s.pk), reason, platform_fault=True)
               for s in overdue)


def restart_lost(now: datetime, enqueue: Enqueue) -> tuple[int, int]:
    """Queue again the submissions whose worker stopped beating; fail the often-lost ones."""
    lost = Submission.objects.filter(status=Status.RUNNING,
                                     heartbeat_at__lt=_seconds_ago(now, settings.ELUE_STALE_AFTER))
    restarted = failed = 0
    for submission in lost:
        same_attempt = Submission.objects.filter(pk=submission.pk, status=Status.RUNNING,
                                                 attempts=submission.attempts)
        if submission.attempts >= settings.ELUE_MAX_ATTEMPTS:
            reason = (f"the worker evaluating it was lost {submission.attempts} times; this "
                      "does not count against your daily quota")
            failed += fail_submission(same_attempt, reason, platform_fault=True)
        elif same_attempt.update(status=Status.QUEUED, enqueued_at=now):
            submission.record_event(Status.QUEUED, "worker lost; queued again")
            transaction.on_commit(lambda pk=submission.pk: enqueue(pk))
            restarted += 1
    return restarted, failed


def reap(enqueue: Enqueue, now: datetime | None = None) -> ReapResult:
    result = reap_submissions(enqueue, now)
    result.swept = sweep_working_directories()
    return result


@transaction.atomic
def reap_submissions(enqueue: Enqueue, now: datetime | None = None) -> ReapResult:
    now = now or timezone.now()
    result = ReapResult(failed=fail_overdue(now))
    result.restarted, lost_failed = restart_lost(now, enqueue)
    result.failed += lost_failed
    result.requeued = requeue_waiting(now, enqueue)
    return result


def sweep_working_directories() -> int:
    """Remove the working directories of attempts that no longer run (on this machine:
    each worker also sweeps when it starts)."""
    return sweep()
