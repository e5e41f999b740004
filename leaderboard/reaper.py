"""The periodic reaper: nothing submitted is left behind.

- queued longer than ``ELUE_REQUEUE_AFTER`` (a lost message, or a broker that was down at
  submit time): enqueued again, then after twice as long, four times, ... up to
  ``ELUE_REQUEUE_MAX_AFTER`` (``requeue_delay``, counted per submission in ``requeues``): a
  message still waiting behind a backlog is re-sent a few times, not every reap;
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
from django.db.models import F, Q
from django.utils import timezone

from leaderboard.models import Submission
from leaderboard.pipeline import fail_submission
from leaderboard.workdirs import sweep

Status = Submission.Status
# Sends a submission's evaluation to the broker (``leaderboard.tasks.enqueue_evaluation``);
# passed in, because the tasks module runs the reaper.
Enqueue = Callable[[int], object]
MAX_DOUBLINGS = 16  # far beyond any sensible ELUE_REQUEUE_MAX_AFTER


@dataclass
class ReapResult:
    requeued: int = 0
    restarted: int = 0
    failed: int = 0
    swept: int = 0  # working directories of attempts that no longer run


def _seconds_ago(now: datetime, seconds: int) -> datetime:
    return now - timedelta(seconds=seconds)


def requeue_delay(requeues: int) -> timedelta:
    """How long a queued submission waits for a worker before the reaper sends it again,
    after ``requeues`` re-sends: ``ELUE_REQUEUE_AFTER``, doubling each time up to
    ``ELUE_REQUEUE_MAX_AFTER``. A message that is merely waiting behind a long backlog is
    not lost: re-sending it every time would grow the backlog with no-op duplicates."""
    seconds = settings.ELUE_REQUEUE_AFTER * 2 ** min(requeues, MAX_DOUBLINGS)
    return timedelta(seconds=min(seconds, max(settings.ELUE_REQUEUE_MAX_AFTER,
                                              settings.ELUE_REQUEUE_AFTER)))


def overdue_queued(now: datetime) -> Q:
    """Queued submissions whose own wait (``requeue_delay`` of their ``requeues``) is over,
    as one filter: a term per number of re-sends, the last one for every larger number."""
    cap = next(n for n in range(MAX_DOUBLINGS + 1)
               if n == MAX_DOUBLINGS or requeue_delay(n) == requeue_delay(n + 1))
    overdue = Q(enqueued_at=None) | Q(requeues__gte=cap, enqueued_at__lt=now - requeue_delay(cap))
    for n in range(cap):
        overdue |= Q(requeues=n, enqueued_at__lt=now - requeue_delay(n))
    return overdue


def requeue_waiting(now: datetime, enqueue: Enqueue) -> int:
    """Enqueue again every submission queued for longer than its own wait."""
    waiting = Submission.objects.filter(overdue_queued(now), status=Status.QUEUED)
    count = 0
    for submission in waiting:
        # Conditional, so two reapers racing enqueue it once.
        if Submission.objects.filter(
                pk=submission.pk, status=Status.QUEUED, enqueued_at=submission.enqueued_at,
                requeues=submission.requeues).update(enqueued_at=now,
                                                     requeues=F("requeues") + 1):
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
        elif same_attempt.update(status=Status.QUEUED, enqueued_at=now, requeues=0):
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
