"""The Celery tasks, thin shells that take ids: load the rows, call the pure code, save,
set the status.

``evaluate_submission`` is the heavy one, routed to the ``evaluation`` queue by name
(``CELERY_TASK_ROUTES``) and sent by ``enqueue_evaluation``; the light site jobs
(re-scoring, the reaper) use the ``site`` queue. A starting worker sweeps the working
directories of attempts that no longer run (``leaderboard.workdirs``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import DatabaseError

from evaluator.errors import DataInvalid, EvaluationFailed, InvalidInput
from leaderboard import pipeline
from leaderboard.models import ReferenceVersion, Submission
from leaderboard.probing import point_rules, record_model_points
from leaderboard.reaper import reap
from leaderboard.scoring import reference_curves_by_slug, rescore_all
from leaderboard.testdata import fetch_test_data
from leaderboard.uploads import archive_limits, fetch_upload
from leaderboard.workdirs import attempt_directory, sweep

if TYPE_CHECKING:  # numpy comes with it: only the worker loads the evaluation code
    from evaluator.bundle.point_rules import PredictionRecord
    from evaluator.evaluate import Report
    from evaluator.running.model_sandbox import ModelRunOptions

logger = logging.getLogger(__name__)


def run_evaluation(claim: pipeline.Claim, submission: Submission,
                   reference: ReferenceVersion | None, options: ModelRunOptions
                   ) -> tuple[Report, list[PredictionRecord]]:
    """Unpack the stored bundle in the attempt's working directory and evaluate it on the
    stored test data, scoring against the curves of ``reference``, running submitted models
    with ``options``. Returns the report and, for a model the platform ran, the records of
    the points it produced (files' points were recorded at upload)."""
    # The evaluation stack (torch, transformers, fvcore) loads in the worker that runs it,
    # never in the web process that imports this module to enqueue.
    from evaluator.bundle.load import load_bundle
    from evaluator.bundle.point_rules import record_of
    from evaluator.evaluate import evaluate_bundle

    rules = point_rules()
    with attempt_directory(claim.submission_id, claim.attempt) as work:
        # From an object store, the upload and the test data it needs are downloaded here
        # (and removed with the folder); from local folders they are read in place. The
        # labels never reach the sandbox: it sees only the bundle it is given.
        upload = fetch_upload(submission.bundle, work / "upload")
        bundle = load_bundle(upload, work / "bundle", archive_limits(), rules=rules)
        data_dir = fetch_test_data(bundle.tasks, work / "data")
        ran_model = bundle.runs_model
        report = evaluate_bundle(bundle, data_dir, require_labels=True,
                                 progress=lambda message: pipeline.progress(claim, message),
                                 curves=reference_curves_by_slug(reference),
                                 options=replace(options, work_dir=work), rules=rules)
        return report, [record_of(p) for p in bundle.points] if ran_model else []


def model_run_options(seed: int = 0, check_stop: Callable[[], None] | None = None
                      ) -> ModelRunOptions:
    """Sandbox limits and inference settings for submitted models, from the settings, with
    a fresh sandbox time budget for one evaluation and ``seed`` for the re-run sample;
    ``check_stop`` raises when the attempt must stop (cancelled)."""
    from evaluator.running.model_sandbox import ModelRunOptions, SandboxBudget
    from evaluator.running.sandbox_policy import SandboxPolicy

    policy = SandboxPolicy(
        memory_mib=settings.ELUE_SANDBOX_MEMORY_MB, cpu_seconds=settings.ELUE_SANDBOX_CPU_SECONDS,
        wall_seconds=settings.ELUE_SANDBOX_WALL_SECONDS,
        processes=settings.ELUE_SANDBOX_PROCESSES, file_mib=settings.ELUE_SANDBOX_FILE_MB,
        scratch_mib=settings.ELUE_SANDBOX_SCRATCH_MB, threads=settings.ELUE_SANDBOX_THREADS,
        allow_unsandboxed=settings.ELUE_ALLOW_UNSANDBOXED_CODE)
    return ModelRunOptions(policy, settings.ELUE_INFERENCE_TOKEN_BUDGET,
                           settings.ELUE_RERUN_SAMPLE, seed,
                           SandboxBudget(settings.ELUE_SANDBOX_BUDGET_SECONDS),
                           check_stop=check_stop)


def draw_seed() -> int:
    """A secret seed for one evaluation's re-run sample: sequential ids or a clock would let
    a submitter make the files agree with the model on the sample only (docs/integrity.md)."""
    return secrets.randbits(63)


def describe(error: InvalidInput) -> str:
    return "\n".join(str(problem) for problem in error.problems)


@shared_task(bind=True, max_retries=None)
def evaluate_submission(self, submission_id: int) -> str:
    """Evaluate submission ``submission_id`` and put it on the leaderboard."""
    try:
        claim = pipeline.claim(submission_id)
    except pipeline.Busy:
        # A live attempt may still be running it (or its worker just died): look again
        # once its heartbeat would have gone stale.
        raise self.retry(countdown=settings.ELUE_STALE_AFTER + 1) from None
    if claim is None:
        return "nothing to do"
    submission = Submission.objects.get(pk=submission_id)
    reference = ReferenceVersion.objects.current()
    seed = draw_seed()
    options = model_run_options(seed, check_stop=pipeline.stop_check(claim))
    with pipeline.Heartbeat(claim):
        try:
            report, produced = run_evaluation(claim, submission, reference, options)
            # A model the platform ran: its points exist only now, and are held to the
            # account's earlier ones before anything about them is recorded.
            record_model_points(submission, produced)
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
            if options.budget.ran_code:  # the submitted model had its time: its failure
                pipeline.fail(claim, f"evaluation took longer than the {limit} s limit after "
                              "running the submitted model", platform_fault=False)
            else:
                pipeline.fail(claim, f"evaluation took longer than the {limit} s limit; this "
                              "does not count against your daily quota", platform_fault=True)
            return "timed out"
        except Exception:
            logger.exception("evaluating submission %s failed", submission_id)
            pipeline.fail(claim, "internal error while evaluating; the ELUE team has been "
                          "notified, and this does not count against your quota",
                          platform_fault=True)
            return "error"
        return save_report(claim, report, reference.pk if reference else None, seed=seed)


def save_report(claim: pipeline.Claim, report: Report, scored_against: int | None,
                tries: int = 3, seed: int | None = None) -> str:
    """Record the result (and the evaluation's secret re-run ``seed``), retrying a failing
    database briefly (e.g. a locked SQLite file) rather than leaving the submission running
    until the reaper calls its worker lost."""
    for attempt in range(1, tries + 1):
        try:
            recorded = pipeline.record_report(claim, report, scored_against, rerun_seed=seed)
            return "scored" if recorded else "superseded"
        except DatabaseError:
            logger.warning("saving submission %s failed (try %d of %d)", claim.submission_id,
                           attempt, tries, exc_info=True)
            time.sleep(attempt)
    pipeline.fail(claim, "internal error while saving the result; the ELUE team has been "
                  "notified, and this does not count against your quota", platform_fault=True)
    return "error"


def enqueue_evaluation(submission_id: int) -> bool:
    """Send the evaluation task; with the broker down, log and leave the submission queued
    for the reaper. Returns whether the message was sent."""
    try:
        evaluate_submission.delay(submission_id)
    except Exception:  # kombu raises several kinds for an unreachable broker
        logger.warning("broker unreachable; submission %s stays queued for the reaper",
                       submission_id, exc_info=True)
        return False
    return True


@shared_task
def rescore_entries(version_id: int) -> int:
    """Re-score every entry against reference version ``version_id``."""
    return rescore_all(ReferenceVersion.objects.get(pk=version_id))


@worker_ready.connect
def sweep_on_start(**kwargs) -> None:
    """A worker restarted after a crash removes what its killed attempts left behind."""
    try:
        sweep()
    except Exception:  # a database still down must not stop the worker from starting
        logger.warning("could not sweep the working directories at start", exc_info=True)


@shared_task
def reap_submissions() -> dict:
    """Celery beat runs this: see ``leaderboard.reaper``."""
    return asdict(reap(enqueue_evaluation))
