"""Thin Celery shells around the evaluation: load by id, run the pure code, save, set status.

The only module of ``evaluator`` that touches the database (through ``leaderboard.pipeline``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

import evaluator.worker  # noqa: F401  (connects the worker's process signals)
from evaluator.errors import DataInvalid, EvaluationFailed, InvalidInput

logger = logging.getLogger(__name__)


def run_evaluation(claim, submission):
    """Unpack the stored bundle in a scratch directory and evaluate it."""
    from evaluator.bundle import load_bundle
    from evaluator.evaluate import evaluate_bundle
    from leaderboard import pipeline
    from leaderboard.submissions import archive_limits, upload_root

    with tempfile.TemporaryDirectory(prefix=f"elue-{submission.pk}-") as scratch:
        bundle = load_bundle(upload_root() / submission.bundle, Path(scratch) / "bundle",
                             archive_limits())
        return evaluate_bundle(bundle, Path(settings.ELUE_DATA_ROOT), require_labels=True,
                               progress=lambda message: pipeline.progress(claim, message),
                               options=model_run_options(seed=submission.pk))


def model_run_options(seed: int = 0):
    """Sandbox limits and inference settings for submitted models, from the settings."""
    from evaluator.custom_model import ModelRunOptions
    from evaluator.sandbox import SandboxPolicy

    policy = SandboxPolicy(
        memory_mib=settings.ELUE_SANDBOX_MEMORY_MB, cpu_seconds=settings.ELUE_SANDBOX_CPU_SECONDS,
        wall_seconds=settings.ELUE_SANDBOX_WALL_SECONDS,
        processes=settings.ELUE_SANDBOX_PROCESSES, file_mib=settings.ELUE_SANDBOX_FILE_MB,
        threads=settings.ELUE_SANDBOX_THREADS,
        allow_unsandboxed=settings.ELUE_ALLOW_UNSANDBOXED_CODE)
    return ModelRunOptions(policy, settings.ELUE_INFERENCE_TOKEN_BUDGET,
                           settings.ELUE_RERUN_SAMPLE, seed)


def describe(error: InvalidInput) -> str:
    return "\n".join(str(problem) for problem in error.problems)


@shared_task(bind=True, max_retries=None)
def evaluate_submission(self, submission_id: int) -> str:
    """Evaluate submission ``submission_id`` and put it on the leaderboard."""
    from leaderboard import pipeline
    from leaderboard.models import Submission

    try:
        claim = pipeline.claim(submission_id)
    except pipeline.Busy:
        # A live attempt may still be running it (or its worker just died): look again
        # once its heartbeat would have gone stale.
        raise self.retry(countdown=settings.ELUE_STALE_AFTER + 1) from None
    if claim is None:
        return "nothing to do"
    submission = Submission.objects.get(pk=submission_id)
    with pipeline.Heartbeat(claim):
        try:
            report = run_evaluation(claim, submission)
        except pipeline.Stop:
            return "stopped"
        except DataInvalid as error:
            # The server's own test data, not the submission: log the details, never the
            # hidden files' paths or contents to the submitter.
            logger.error("test data unusable for submission %s: %s", submission_id, error)
            pipeline.fail(claim, "the server's test data for this task is unavailable; the "
                          "ELUE team has been notified, and this does not count against your "
                          "quota", platform_fault=True)
            return "failed"
        except InvalidInput as error:
            pipeline.fail(claim, describe(error), platform_fault=False)
            return "failed"
        except EvaluationFailed as error:
            pipeline.fail(claim, str(error), platform_fault=False)
            return "failed"
        except SoftTimeLimitExceeded:
            limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
            pipeline.fail(claim, f"evaluation took longer than the {limit} s limit; this does "
                          "not count against your daily quota", platform_fault=True)
            return "timed out"
        except Exception:
            logger.exception("evaluating submission %s failed", submission_id)
            pipeline.fail(claim, "internal error while evaluating; the ELUE team has been "
                          "notified, and this does not count against your quota",
                          platform_fault=True)
            return "error"
        return save_report(claim, report)


def save_report(claim, report, tries: int = 3) -> str:
    """Record the result, retrying a failing database briefly (e.g. a locked SQLite file)
    rather than leaving the submission running until the reaper calls its worker lost."""
    from django.db import DatabaseError

    from leaderboard import pipeline

    for attempt in range(1, tries + 1):
        try:
            return "scored" if pipeline.record_report(claim, report) else "superseded"
        except DatabaseError:
            logger.warning("saving submission %s failed (try %d of %d)", claim.submission_id,
                           attempt, tries, exc_info=True)
            time.sleep(attempt)
    pipeline.fail(claim, "internal error while saving the result; the ELUE team has been "
                  "notified, and this does not count against your quota", platform_fault=True)
    return "error"
