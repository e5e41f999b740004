"""Measured efficiency on the site's side: routing platform-run models to the GPU queue,
storing what a worker measured with its hardware profile, asking for each profile's
reference once, and reading a point's latency back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from evaluator.evaluate import PointReport, Report, TaskReport
from leaderboard import tasks
from leaderboard.measurements import (
    claim_reference_request,
    latencies_on,
    point_latency_ms,
    record_reference,
    reference_measurements,
)
from leaderboard.models import Entry, HardwareProfile, Measurement, Submission, Task
from leaderboard.pipeline import claim, record_report
from leaderboard.submissions import submit_bundle
from tests.evaluator.builders import declared_folder
from tests.evaluator.custom_models import COST_EFF, manifest, multi_exit_model

pytestmark = pytest.mark.django_db
Status = Submission.Status

HARDWARE = {"device": "cuda", "device_name": "NVIDIA H200", "driver_version": "570.86.15",
            "cuda_version": "12.8 / 12.8", "cpu_model": "AMD EPYC 9654", "threads": 1,
            "torch_version": "2.13.0", "dtype": "fp32", "protocol": "elue-measure/1 x",
            "key": "0123456789abcdef", "label": "NVIDIA H200 · fp32"}


def figures(p50: float = 4.0, **changes) -> dict:
    return {"latency_p50_ms": p50, "latency_p90_ms": p50 * 1.5, "latency_p99_ms": p50 * 2,
            "latency_cv": 0.01, "single_stream_examples": 1000, "repetitions": 3,
            "throughput": 900.0, "throughput_cv": 0.02, "offline_examples": 1725,
            "peak_memory_mib": 812.0, "memory_source": "gpu-allocator", "energy_j": 0.6,
            "energy_cv": 0.03, "energy_source": "nvml", "energy_note": "", "agreement": 100.0,
            "flagged": False, **changes}


@pytest.fixture
def sent(monkeypatch):
    """The queue of every task sent, instead of a broker."""
    found = []

    def capture(task):
        return lambda args, queue: found.append((task, args, queue))
    monkeypatch.setattr(tasks.evaluate_submission, "apply_async", capture("evaluate"))
    monkeypatch.setattr(tasks.measure_reference, "apply_async", capture("reference"))
    return found


def queued(owner, runs_model: bool) -> Submission:
    return Submission.objects.create(owner=owner, name="M", kind=Entry.Kind.MODEL,
                                     bundle="x.zip", status=Status.QUEUED,
                                     enqueued_at=timezone.now(), runs_model=runs_model)


def test_without_gpu_workers_everything_goes_to_the_evaluation_queue(alice, sent, settings):
    settings.ELUE_GPU_QUEUE = ""
    model, files = queued(alice, True), queued(alice, False)
    assert tasks.enqueue_evaluation(model.pk) and tasks.enqueue_evaluation(files.pk)
    assert [queue for *_, queue in sent] == ["evaluation", "evaluation"]


def test_models_the_platform_runs_go_to_the_gpu_queue(alice, sent, settings):
    settings.ELUE_GPU_QUEUE = "evaluation-gpu"
    model, files = queued(alice, True), queued(alice, False)
    tasks.enqueue_evaluation(model.pk)
    tasks.enqueue_evaluation(files.pk)
    assert sent == [("evaluate", (model.pk,), "evaluation-gpu"),
                    ("evaluate", (files.pk,), "evaluation")]


def test_a_submission_knows_whether_the_platform_runs_its_model(alice, stored, tmp_path,
                                                                enqueued):
    declared = submit_bundle(alice, declared_folder(tmp_path / "d"), name="Declared")
    folder = multi_exit_model(tmp_path / "m" / "model", COST_EFF)
    (folder / "model.safetensors").write_bytes(b"weights")  # only listed when received
    manifest(folder, ["mrpc"], [0.5])
    kind4 = submit_bundle(alice, tmp_path / "m", name="Kind 4")
    assert (declared.runs_model, kind4.runs_model) == (False, True)
    assert kind4.kind == Entry.Kind.MODEL


def report_with(measured: dict | None, note: str | None = None) -> Report:
    point = PointReport("mrpc", "0.5", "mrpc_0.5.tsv", 80.0, 1500.0, 20.0, "counted",
                        measurement=measured, measurement_note=note)
    static = PointReport("mrpc", "", "mrpc.tsv", 82.0, 3000.0, 20.0, "counted",
                         measurement_note="measuring the model failed: exceeded the wall "
                                          "time of 600 s and was stopped")
    return Report([TaskReport("mrpc", [point, static])], None, hardware=HARDWARE)


def test_recording_stores_each_measurement_on_its_profile(alice, seeded):
    attempt = claim(queued(alice, True).pk)
    assert record_report(attempt, report_with(figures()), None)
    profile = HardwareProfile.objects.get()
    assert (profile.key, profile.device_name, profile.label) == (
        "0123456789abcdef", "NVIDIA H200", "NVIDIA H200 · fp32")
    measured = Measurement.objects.get()
    assert measured.point.name == "0.5" and measured.task.slug == "mrpc"
    assert (measured.latency_p50_ms, measured.energy_j, measured.profile) == (4.0, 0.6, profile)
    static = measured.point.entry.points.get(name="static")
    assert "exceeded the wall time" in static.measurement_note
    assert not Measurement.objects.filter(point=static).exists()


def test_a_profile_is_stored_once(alice, seeded):
    for _ in range(2):
        record_report(claim(queued(alice, True).pk), report_with(figures()), None)
    assert HardwareProfile.objects.count() == 1 and Measurement.objects.count() == 2


def test_a_points_latency_on_a_profile(alice, seeded):
    record_report(claim(queued(alice, True).pk), report_with(figures(p50=7.5)), None)
    point = Measurement.objects.get().point
    profile = HardwareProfile.objects.get()
    other = HardwareProfile.objects.create(key="fedcba9876543210", device="cpu",
                                           device_name="CPU", cpu_model="CPU", threads=1,
                                           torch_version="2.13.0", dtype="fp32",
                                           protocol="p", label="CPU")
    assert point_latency_ms(point, profile) == 7.5
    assert point_latency_ms(point, other) is None
    assert latencies_on(profile, point.task) == {point.pk: 7.5}


def test_the_reference_is_requested_once_per_profile(alice, seeded, sent, settings):
    settings.ELUE_GPU_QUEUE = "evaluation-gpu"
    record_report(claim(queued(alice, True).pk), report_with(figures()), None)
    tasks.request_reference(HARDWARE["key"])
    tasks.request_reference(HARDWARE["key"])
    assert sent == [("reference", (HARDWARE["key"],), "evaluation-gpu")]
    # Asked long ago and never finished (its worker died): asked again.
    profile = HardwareProfile.objects.get()
    late = timezone.now() + timedelta(seconds=settings.ELUE_REFERENCE_TIME_LIMIT + 1)
    assert claim_reference_request(profile, late)


def test_a_broker_that_is_down_leaves_the_reference_to_be_asked_again(alice, seeded,
                                                                      monkeypatch):
    record_report(claim(queued(alice, True).pk), report_with(figures()), None)

    def down(*args, **kwargs):
        raise ConnectionError("broker unreachable")
    monkeypatch.setattr(tasks.measure_reference, "apply_async", down)
    tasks.request_reference(HARDWARE["key"])
    assert HardwareProfile.objects.get().reference_requested_at is None


def test_reference_measurements_are_kept_per_depth(alice, seeded):
    record_report(claim(queued(alice, True).pk), report_with(figures()), None)
    profile, mrpc = HardwareProfile.objects.get(), Task.objects.get(slug="mrpc")
    for depth in (2, 1, 2):
        record_reference(profile, mrpc, depth, figures(p50=float(depth), throughput=None))
    found = reference_measurements(profile, mrpc)
    assert [(m.reference_layers, m.latency_p50_ms) for m in found] == [(1, 1.0), (2, 2.0)]


def test_a_worker_without_its_gpu_fails_as_the_platforms_fault(alice, stored, tmp_path,
                                                               enqueued, settings, monkeypatch):
    from evaluator.running import devices

    monkeypatch.setattr(devices, "present_nodes", lambda: [])
    settings.ELUE_DEVICE = "cuda"
    folder = declared_folder(tmp_path / "b")
    submission = submit_bundle(alice, folder, name="Declared")
    assert tasks.evaluate_submission.apply(args=[submission.pk]).get() == "failed"
    submission.refresh_from_db()
    assert submission.platform_fault and "no usable GPU" in submission.failure_reason


def test_measure_options_follow_the_settings(settings):
    settings.ELUE_MEASURE_SAMPLE, settings.ELUE_MEASURE_REPEATS = 200, 5
    options = tasks.measure_options()
    assert (options.sample_size, options.repetitions, options.warmup) == (200, 5, 50)
    settings.ELUE_MEASURE = False
    assert tasks.measure_options() is None


def test_measuring_ends_a_minute_before_the_evaluations_soft_limit(settings):
    import time

    settings.CELERY_TASK_SOFT_TIME_LIMIT = 1800
    left = tasks.measuring_deadline() - time.monotonic()
    assert 1800 - tasks.MEASURING_MARGIN - 5 < left <= 1800 - tasks.MEASURING_MARGIN
    assert tasks.measure_options(deadline=123.0).deadline == 123.0


def test_a_measurement_is_of_a_point_or_of_the_reference(seeded):
    from django.db import IntegrityError, transaction

    from tests.measured import figures as shown
    from tests.measured import profile

    on = profile()
    mrpc = Task.objects.get(slug="mrpc")
    with pytest.raises(IntegrityError), transaction.atomic():
        Measurement.objects.create(profile=on, task=mrpc, **shown(3.0))
    Measurement.objects.create(profile=on, task=mrpc, reference_layers=3, **shown(3.0))
    with pytest.raises(IntegrityError), transaction.atomic():
        Measurement.objects.create(profile=on, task=mrpc, reference_layers=3, **shown(4.0))
