"""The Celery tasks, thin shells that take ids: load the rows, call the pure code, save,
set the status.

``evaluate_submission`` is the heavy one, sent by ``enqueue_evaluation`` to the
``evaluation`` queue, or to ``ELUE_GPU_QUEUE`` when the submission's model is run by the
platform and the deployment has GPU workers (``evaluation_queue``). ``measure_reference``
measures a new hardware profile's reference curve on a worker of the same queue. The light
site jobs (re-scoring, the reaper) use the ``site`` queue.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from evaluator.benchmark import TASKS
from evaluator.data import load_test_set
from evaluator.errors import DataInvalid, EvaluationFailed, InvalidInput
from evaluator.running.devices import DeviceUnavailable
from leaderboard import pipeline
from leaderboard.measurements import (
    claim_reference_request,
    measured_reference_layers,
    profile_of,
    record_reference,
)
from leaderboard.models import HardwareProfile, ReferenceVersion, Submission, Task, TestData
from leaderboard.reaper import reap
from leaderboard.scoring import reference_curves_by_slug, rescore_all
from leaderboard.uploads import archive_limits, upload_root

if TYPE_CHECKING:  # numpy comes with it: only the worker loads the evaluation code
    from evaluator.evaluate import Report

logger = logging.getLogger(__name__)
EVALUATION_QUEUE = "evaluation"
MEASURING_MARGIN = 60  # seconds kept after measuring, before the soft time limit


def run_evaluation(claim: pipeline.Claim, submission: Submission,
                   reference: ReferenceVersion | None) -> Report:
    """Unpack the stored bundle in a scratch directory and evaluate it, scoring against the
    curves of ``reference``."""
    # The evaluation stack (torch, transformers, fvcore) loads in the worker that runs it,
    # never in the web process that imports this module to enqueue.
    from evaluator.bundle.load import load_bundle
    from evaluator.evaluate import evaluate_bundle

    with tempfile.TemporaryDirectory(prefix=f"elue-{submission.pk}-") as scratch:
        bundle = load_bundle(upload_root() / submission.bundle, Path(scratch) / "bundle",
                             archive_limits())
        return evaluate_bundle(bundle, Path(settings.ELUE_DATA_ROOT), require_labels=True,
                               progress=lambda message: pipeline.progress(claim, message),
                               curves=reference_curves_by_slug(reference),
                               options=model_run_options(seed=submission.pk),
                               measure=measure_options(deadline=measuring_deadline()))


def model_run_options(seed: int = 0):
    """Sandbox limits, inference settings and the device for submitted models, from the
    settings; raises ``DeviceUnavailable`` on a worker told to use a GPU it lacks."""
    from evaluator.running.custom_code import ModelRunOptions
    from evaluator.running.devices import worker_device
    from evaluator.running.sandbox import SandboxPolicy

    device = worker_device(settings.ELUE_DEVICE, settings.ELUE_CUDA_DEVICE)
    wall = settings.ELUE_SANDBOX_WALL_SECONDS_CUDA if device.is_cuda \
        else settings.ELUE_SANDBOX_WALL_SECONDS
    policy = SandboxPolicy(
        memory_mib=settings.ELUE_SANDBOX_MEMORY_MB, cpu_seconds=settings.ELUE_SANDBOX_CPU_SECONDS,
        wall_seconds=wall, processes=settings.ELUE_SANDBOX_PROCESSES,
        file_mib=settings.ELUE_SANDBOX_FILE_MB, threads=settings.ELUE_SANDBOX_THREADS,
        allow_unsandboxed=settings.ELUE_ALLOW_UNSANDBOXED_CODE)
    return ModelRunOptions(policy, settings.ELUE_INFERENCE_TOKEN_BUDGET,
                           settings.ELUE_RERUN_SAMPLE, seed, device)


def measure_options(deadline: float | None = None):
    """The measurement protocol from the settings (``None`` when measuring is off), to be
    over by ``deadline`` (``time.monotonic()``)."""
    from evaluator.measure.protocol import MeasureOptions

    if not settings.ELUE_MEASURE:
        return None
    return MeasureOptions(settings.ELUE_MEASURE_SAMPLE, settings.ELUE_MEASURE_WARMUP,
                          settings.ELUE_MEASURE_REPEATS,
                          idle_seconds=settings.ELUE_MEASURE_IDLE_SECONDS, deadline=deadline)


def measuring_deadline() -> float:
    """When an evaluation starting now must be done measuring: a minute before its soft
    time limit, which leaves time to score and save. A measurement cut short leaves its
    points "not measured"; it never fails the submission."""
    return time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT - MEASURING_MARGIN


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
    with pipeline.Heartbeat(claim):
        try:
            report = run_evaluation(claim, submission, reference)
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
        except DeviceUnavailable as error:
            logger.error("worker misconfigured for submission %s: %s", submission_id, error)
            pipeline.fail(claim, "the worker that took this submission has no usable GPU; "
                          "the ELUE team has been notified, and this does not count against "
                          "your quota", platform_fault=True)
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
        outcome = save_report(claim, report, reference.pk if reference else None)
    if outcome == "scored" and report.hardware:
        try:
            request_reference(report.hardware["key"])
        except DatabaseError:  # the entry is saved; the next measured entry asks again
            logger.warning("could not request the reference of %s", report.hardware["key"],
                           exc_info=True)
    return outcome


def save_report(claim: pipeline.Claim, report: Report, scored_against: int | None,
                tries: int = 3) -> str:
    """Record the result, retrying a failing database briefly (e.g. a locked SQLite file)
    rather than leaving the submission running until the reaper calls its worker lost."""
    for attempt in range(1, tries + 1):
        try:
            recorded = pipeline.record_report(claim, report, scored_against)
            return "scored" if recorded else "superseded"
        except DatabaseError:
            logger.warning("saving submission %s failed (try %d of %d)", claim.submission_id,
                           attempt, tries, exc_info=True)
            time.sleep(attempt)
    pipeline.fail(claim, "internal error while saving the result; the ELUE team has been "
                  "notified, and this does not count against your quota", platform_fault=True)
    return "error"


def evaluation_queue(runs_model: bool) -> str:
    """Where an evaluation goes: the GPU queue for a model the platform runs, when the
    deployment has GPU workers (``ELUE_GPU_QUEUE``); the CPU workers' queue otherwise."""
    if runs_model and settings.ELUE_GPU_QUEUE:
        return settings.ELUE_GPU_QUEUE
    return EVALUATION_QUEUE


def enqueue_evaluation(submission_id: int) -> bool:
    """Send the evaluation task to its queue; with the broker down, log and leave the
    submission queued for the reaper. Returns whether the message was sent."""
    runs_model = Submission.objects.filter(pk=submission_id).values_list(
        "runs_model", flat=True).first()
    try:
        evaluate_submission.apply_async((submission_id,),
                                        queue=evaluation_queue(bool(runs_model)))
    except Exception:  # kombu raises several kinds for an unreachable broker
        logger.warning("broker unreachable; submission %s stays queued for the reaper",
                       submission_id, exc_info=True)
        return False
    return True


@shared_task
def rescore_entries(version_id: int) -> int:
    """Re-score every entry against reference version ``version_id``."""
    return rescore_all(ReferenceVersion.objects.get(pk=version_id))


@shared_task
def reap_submissions() -> dict:
    """Celery beat runs this: see ``leaderboard.reaper``."""
    return asdict(reap(enqueue_evaluation))


def request_reference(profile_key: str) -> None:
    """Have a worker like this one measure the profile's reference curve, once (see
    ``claim_reference_request``); a broker that is down only delays it to the next entry."""
    profile = HardwareProfile.objects.filter(key=profile_key).first()
    if profile is None or not claim_reference_request(profile):
        return
    try:
        measure_reference.apply_async((profile_key,), queue=evaluation_queue(True))
    except Exception:  # kombu raises several kinds for an unreachable broker
        HardwareProfile.objects.filter(pk=profile.pk).update(reference_requested_at=None)
        logger.warning("broker unreachable; the reference of %s waits", profile_key,
                       exc_info=True)


@shared_task(soft_time_limit=settings.ELUE_REFERENCE_TIME_LIMIT,
             time_limit=settings.ELUE_REFERENCE_TIME_LIMIT + 60)
def measure_reference(profile_key: str) -> str:
    """Measure ElasticBERT-BASE at 1..12 layers on this worker, for the precision of profile
    ``profile_key``; each depth is stored as it is measured, so a stopped run resumes."""
    profile = HardwareProfile.objects.get(key=profile_key)
    measured = measure_reference_here(profile.dtype, lambda message: logger.info(
        "reference for %s: %s", profile_key, message))
    if measured.key != profile_key:
        logger.warning("asked for the reference of %s, this worker is %s (%s): measured "
                       "that instead", profile_key, measured.key, measured.label)
    return measured.key


def measure_reference_here(dtype: str, progress: Callable[[str], None] | None = None,
                           tasks: list[str] | None = None,
                           layers: list[int] | None = None) -> HardwareProfile:
    """Measure the reference on this machine for every task whose test data is loaded
    (or ``tasks``), storing each (task, depth) as it comes; the profile measured."""
    from evaluator.measure.protocol import MeasureOptions
    from evaluator.measure.reference import REFERENCE_LAYERS, reference_profile
    from evaluator.measure.reference import measure_reference as measure_curve

    options = model_run_options()
    measure = measure_options() or MeasureOptions()
    profile = profile_of(reference_profile(options, measure, dtype).as_dict())
    by_slug = {t.slug: t for t in Task.objects.all()}
    wanted = loaded_test_sets(tasks)

    def record(slug: str, depth: int, figures) -> None:
        record_reference(profile, by_slug[slug], depth, figures.as_dict())

    measure_curve(wanted, options, measure, dtype, record, layers or REFERENCE_LAYERS,
                  measured_reference_layers(profile), progress)
    return profile


def loaded_test_sets(slugs: list[str] | None = None) -> dict:
    """The test sets (inputs only) of the tasks whose data this server holds."""
    loaded = TestData.objects.values_list("task__slug", flat=True)
    return {slug: load_test_set(Path(settings.ELUE_DATA_ROOT), TASKS[slug], with_labels=False)
            for slug in sorted(loaded, key=list(TASKS).index) if not slugs or slug in slugs}
